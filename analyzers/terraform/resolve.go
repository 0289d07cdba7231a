package terraform

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Static resolution of what a configuration means as written: locals and
// variable defaults are evaluated (with the pure functions Terraform
// shares with cty's stdlib) so that `count = 0`, `for_each = {}` or
// `tags = local.empty` are seen for what they are. Anything that needs a
// provider, a data source or another resource stays unknown, and unknown
// is given the benefit of the doubt.

// maxLocalPasses bounds the fixpoint over locals that refer to each other.
const maxLocalPasses = 8

// evalContext returns var.* (defaults) and local.* of the module.
func (m *module) evalContext() *hcl.EvalContext {
	if m.ctx != nil {
		return m.ctx
	}
	vars := map[string]cty.Value{}
	for name, b := range m.variables {
		v := cty.DynamicVal
		if attr, ok := b.Body.Attributes["default"]; ok {
			if dv, diags := attr.Expr.Value(nil); !diags.HasErrors() {
				v = dv
			}
		}
		vars[name] = v
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.EmptyObjectVal},
		Functions: tfFunctions(),
	}
	var attrs []*hclsyntax.Attribute
	for _, f := range m.files {
		for _, b := range f.body.Blocks {
			if b.Type == "locals" {
				for _, a := range b.Body.Attributes {
					attrs = append(attrs, a)
				}
			}
		}
	}
	locals := map[string]cty.Value{}
	for range maxLocalPasses {
		changed := false
		for _, a := range attrs {
			if _, done := locals[a.Name]; done {
				continue
			}
			// Known at the top (an object whose keys are known even if
			// some values come from a variable without default) is enough
			// for tags; count and for_each ask for wholly known values.
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() || !v.IsKnown() {
				continue
			}
			locals[a.Name] = v
			changed = true
		}
		ctx.Variables["local"] = objectOrEmpty(locals)
		if !changed {
			break
		}
	}
	// Locals that never resolved are unknown, not missing.
	for _, a := range attrs {
		if _, ok := locals[a.Name]; !ok {
			locals[a.Name] = cty.DynamicVal
		}
	}
	ctx.Variables["local"] = objectOrEmpty(locals)
	m.ctx = ctx
	return ctx
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// tfFunctions are the pure Terraform functions a static reading needs.
func tfFunctions() map[string]function.Function {
	conv := func(t cty.Type) function.Function {
		return function.New(&function.Spec{
			Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true}},
			Type:   function.StaticReturnType(t),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return convert.Convert(args[0], t)
			},
		})
	}
	return map[string]function.Function{
		"merge": stdlib.MergeFunc, "concat": stdlib.ConcatFunc, "length": stdlib.LengthFunc,
		"keys": stdlib.KeysFunc, "values": stdlib.ValuesFunc, "lookup": stdlib.LookupFunc,
		"contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc, "flatten": stdlib.FlattenFunc,
		"lower": stdlib.LowerFunc, "upper": stdlib.UpperFunc, "format": stdlib.FormatFunc,
		"join": stdlib.JoinFunc, "split": stdlib.SplitFunc, "min": stdlib.MinFunc, "max": stdlib.MaxFunc,
		"coalesce": stdlib.CoalesceFunc, "zipmap": stdlib.ZipmapFunc, "range": stdlib.RangeFunc,
		"toset": conv(cty.Set(cty.DynamicPseudoType)), "tolist": conv(cty.List(cty.DynamicPseudoType)),
		"tomap": conv(cty.Map(cty.DynamicPseudoType)), "tostring": conv(cty.String),
		"tonumber": conv(cty.Number), "tobool": conv(cty.Bool),
	}
}

// eval evaluates e in the module's static context; ok is false when the
// value is not wholly known (shallow: only the value itself must be known,
// as for the keys of an object).
func (m *module) eval(e hcl.Expression, shallow bool) (cty.Value, bool) {
	v, diags := e.Value(m.evalContext())
	if diags.HasErrors() || !v.IsKnown() || (!shallow && !v.IsWhollyKnown()) {
		return cty.NilVal, false
	}
	return v, true
}

// instances is how many instances a resource block declares as written:
// count, or the size of for_each; known is false when it cannot be told
// statically.
func (m *module) instances(r resource) (n int, expr string, known bool) {
	if a, ok := r.block.Body.Attributes["count"]; ok {
		v, ok := m.eval(a.Expr, false)
		if !ok || v.IsNull() || v.Type() != cty.Number {
			return 0, "", false
		}
		i, _ := v.AsBigFloat().Int64()
		return int(i), "count = " + strings.TrimSpace(string(a.Expr.Range().SliceBytes(r.file.src))), true
	}
	if a, ok := r.block.Body.Attributes["for_each"]; ok {
		v, ok := m.eval(a.Expr, true)
		if !ok || v.IsNull() || !v.CanIterateElements() {
			return 0, "", false
		}
		return v.LengthInt(), "for_each = " + strings.TrimSpace(string(a.Expr.Range().SliceBytes(r.file.src))), true
	}
	return 1, "", true
}

// mapKeys returns the keys of a value that is an object or a map, ok false
// when e is not statically known to be one.
func (m *module) mapKeys(e hcl.Expression) (map[string]bool, bool) {
	v, ok := m.eval(e, true)
	if !ok || v.IsNull() {
		return nil, false
	}
	t := v.Type()
	if !t.IsObjectType() && !t.IsMapType() {
		return nil, false
	}
	keys := map[string]bool{}
	for it := v.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		if k.Type() == cty.String {
			keys[k.AsString()] = true
		}
	}
	return keys, true
}

// validatesVar says whether a validation block's condition depends on
// var.name: a constant condition (true, 1 == 1) or one about something
// else validates nothing.
func validatesVar(b *hclsyntax.Block, src []byte, name string) (bool, string) {
	attr, ok := b.Body.Attributes["condition"]
	if !ok {
		return false, "has no condition"
	}
	for _, tr := range attr.Expr.Variables() {
		if tr.RootName() != "var" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == name {
			return true, ""
		}
	}
	return false, fmt.Sprintf("condition %s does not depend on var.%s", strings.TrimSpace(string(attr.Expr.Range().SliceBytes(src))), name)
}
