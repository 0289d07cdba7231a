package terraform

import (
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// value is what an attribute path resolved to: the literal value as text
// when the expression is constant, the expression's source text otherwise.
type value struct {
	text  string
	rng   hcl.Range
	block bool
	expr  hclsyntax.Expression
}

// lookup resolves a dotted path in a body: segments name attributes, nested
// blocks (every block of that type is searched) or keys of object values.
func lookup(body *hclsyntax.Body, src []byte, path []string) []value {
	if len(path) == 0 {
		return nil
	}
	seg, rest := path[0], path[1:]
	var out []value
	if attr, ok := body.Attributes[seg]; ok {
		if len(rest) == 0 {
			out = append(out, exprValue(attr.Expr, src))
		} else {
			out = append(out, lookupExpr(attr.Expr, src, rest)...)
		}
	}
	for _, b := range body.Blocks {
		if b.Type != seg {
			continue
		}
		if len(rest) == 0 {
			out = append(out, value{text: "", rng: b.DefRange(), block: true})
		} else {
			out = append(out, lookup(b.Body, src, rest)...)
		}
	}
	return out
}

// lookupExpr walks object constructors ({ k = v }) by key.
func lookupExpr(e hclsyntax.Expression, src []byte, path []string) []value {
	obj, ok := e.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	for _, item := range obj.Items {
		if objKey(item.KeyExpr) != path[0] {
			continue
		}
		if len(path) == 1 {
			return []value{exprValue(item.ValueExpr, src)}
		}
		return lookupExpr(item.ValueExpr, src, path[1:])
	}
	return nil
}

func objKey(e hclsyntax.Expression) string {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if kw := hcl.ExprAsKeyword(k.Wrapped); kw != "" && !k.ForceNonLiteral {
			return kw
		}
		e = k.Wrapped
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func exprValue(e hclsyntax.Expression, src []byte) value {
	v := value{rng: e.Range(), expr: e}
	if s, ok := literalString(e); ok {
		v.text = s
		return v
	}
	v.text = strings.TrimSpace(string(e.Range().SliceBytes(src)))
	return v
}

// literalString renders a constant primitive expression (string, number,
// bool) as text; ok is false for anything that needs evaluation context or
// is not a primitive.
func literalString(e hclsyntax.Expression) (string, bool) {
	val, diags := e.Value(nil)
	if diags.HasErrors() || !val.IsWhollyKnown() || val.IsNull() {
		return "", false
	}
	switch val.Type() {
	case cty.String:
		return val.AsString(), true
	case cty.Number:
		return val.AsBigFloat().Text('f', -1), true
	case cty.Bool:
		if val.True() {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// literalStrings returns the constant strings of a list/tuple expression
// (or of a single string).
func literalStrings(e hclsyntax.Expression) []string {
	val, diags := e.Value(nil)
	if diags.HasErrors() || val.IsNull() || !val.IsKnown() {
		return nil
	}
	if val.Type() == cty.String {
		return []string{val.AsString()}
	}
	if !val.CanIterateElements() {
		return nil
	}
	var out []string
	for it := val.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsKnown() && !ev.IsNull() && ev.Type() == cty.String {
			out = append(out, ev.AsString())
		}
	}
	return out
}

// compact removes whitespace so that expression texts compare loosely.
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
