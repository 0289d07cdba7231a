package challenges

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder turns a yaml.Node tree into the spec types strictly: unknown
// fields, wrong types and duplicate keys are problems at the node's
// line:column, named by their path (checks[1].points). It records where
// every path is so that later validation can point at it too.
type decoder struct {
	file  string
	probs Problems
	pos   map[string]*yaml.Node
	bad   map[string]bool // paths whose value could not be decoded
}

// fail reports a value that could not be decoded; validation then stays
// quiet about that path (its Go value is meaningless).
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if d.bad == nil {
		d.bad = map[string]bool{}
	}
	d.bad[path] = true
	d.addf(n, "%s: "+format, append([]any{orRoot(path)}, args...)...)
}

func (d *decoder) addf(n *yaml.Node, format string, args ...any) {
	p := Problem{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	d.probs = append(d.probs, p)
}

// at returns the node recorded for path, or for its closest recorded parent.
func (d *decoder) at(path string) *yaml.Node {
	for {
		if n, ok := d.pos[path]; ok {
			return n
		}
		if path == "" {
			return nil
		}
		path = parentPath(path)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing (null)"
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		}
		return n.Value
	}
	return "an alias"
}

var scalarDecoderType = reflect.TypeFor[scalarDecoder]()

type fieldInfo struct {
	name  string
	index []int
}

// fields lists a struct's YAML fields, flattening `yaml:",inline"` embeds.
func fields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			for _, sub := range fields(f.Type) {
				out = append(out, fieldInfo{sub.name, append([]int{i}, sub.index...)})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, fieldInfo{name, []int{i}})
	}
	return out
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.pos[path] = n
	if v.CanAddr() && v.Addr().Type().Implements(scalarDecoderType) {
		if err := v.Addr().Interface().(scalarDecoder).decodeScalar(n); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	if v.Type() == reflect.TypeFor[Check]() {
		d.decodeCheck(n, path, v.Addr().Interface().(*Check))
		return
	}
	if v.Type() == reflect.TypeFor[WrongFix]() && n.Kind != yaml.MappingNode {
		// The short form: just the script's path.
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.fail(n, path, "must be a script path or a mapping with script (and expect_failed, expect_score), got %s", describe(n))
			return
		}
		v.FieldByName("Script").SetString(n.Value)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		nv := reflect.New(v.Type().Elem())
		d.decode(n, path, nv.Elem())
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, path, "", v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.fail(n, path, "must be a string, got %s%s", describe(n), quoteHint(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.fail(n, path, "must be true or false, got %s", describe(n))
			return
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.fail(n, path, "must be an integer, got %s", describe(n))
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			d.fail(n, path, "must be an integer, got %s", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			d.fail(n, path, "must be a number, got %s", describe(n))
			return
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.fail(n, path, "must be a number, got %s", n.Value)
			return
		}
		v.SetFloat(f)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "must be a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, index(path, i), s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "must be a mapping of names to values, got %s", describe(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.fail(k, path, "keys must be names, got %s", describe(k))
				continue
			}
			kp := join(path, k.Value)
			if seen[k.Value] {
				d.addf(k, "%s: duplicate key", kp)
				continue
			}
			seen[k.Value] = true
			d.pos[kp] = val
			if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
				d.fail(val, kp, "must be a single value, got %s", describe(val))
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(val.Value))
		}
		v.Set(m)
	default:
		panic(fmt.Sprintf("challenges: decode of %s not supported", v.Type()))
	}
}

func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return " (quote it to make it a string)"
	}
	return ""
}

type target struct {
	v      reflect.Value
	fields []fieldInfo
}

// decodeStruct decodes a mapping into one or more struct values (a check's
// common fields and its type's fields); what says what the fields are for
// in the unknown-field message ("" or "for a http check").
func (d *decoder) decodeStruct(n *yaml.Node, path, what string, vs ...reflect.Value) map[string]bool {
	present := map[string]bool{}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping (key: value lines), got %s", describe(n))
		return present
	}
	var targets []target
	var names []string
	for _, v := range vs {
		fs := fields(v.Type())
		targets = append(targets, target{v, fs})
		for _, f := range fs {
			names = append(names, f.name)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.addf(k, "%s: keys must be names, got %s", orRoot(path), describe(k))
			continue
		}
		kp := join(path, k.Value)
		if present[k.Value] {
			d.addf(k, "%s: duplicate key", kp)
			continue
		}
		present[k.Value] = true
		found := false
		for _, t := range targets {
			for _, f := range t.fields {
				if f.name == k.Value {
					d.decode(val, kp, t.v.FieldByIndex(f.index))
					found = true
				}
			}
		}
		if !found {
			d.pos[kp] = k
			hint := suggest(k.Value, names)
			if hint == "" {
				hint = elsewhere(path, k.Value)
			}
			d.addf(k, "%s: unknown field%s%s; expected one of: %s", kp, what, hint, strings.Join(names, ", "))
		}
	}
	return present
}

func orRoot(path string) string {
	if path == "" {
		return "challenge"
	}
	return path
}

// suggest returns ` (did you mean "x"?)` for a near miss.
func suggest(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) decodeCheck(n *yaml.Node, path string, c *Check) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping with id, title, points and the fields of its type, got %s", describe(n))
		return
	}
	typ := ""
	var typNode *yaml.Node
	hasRun := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "type":
			typNode = n.Content[i+1]
			typ = typNode.Value
		case "run":
			hasRun = true
		}
	}
	if typNode == nil {
		if !hasRun {
			d.pos[path] = n
			d.fail(n, path, "missing type; expected one of: %s (or run: for a script check)", strings.Join(CheckTypes, ", "))
			return
		}
		typ = CheckScript
	} else if typNode.Kind != yaml.ScalarNode || typNode.Tag != "!!str" || !slices.Contains(CheckTypes, typ) {
		d.pos[join(path, "type")] = typNode
		got := describe(typNode)
		if typNode.Tag == "!!str" {
			got = strconv.Quote(typ)
		}
		d.fail(typNode, join(path, "type"), "unknown check type %s; expected one of: %s", got, strings.Join(CheckTypes, ", "))
		d.bad[path] = true
		return
	}
	var part any
	switch typ {
	case CheckScript:
		c.Script = &ScriptCheck{}
		part = c.Script
	case CheckFile:
		c.File = &FileCheck{}
		part = c.File
	case CheckHTTP:
		c.HTTP = &HTTPCheck{}
		part = c.HTTP
	case CheckDockerfile:
		c.Dockerfile = &DockerfileCheck{}
		part = c.Dockerfile
	case CheckDockerBuild:
		c.DockerBuild = &DockerBuildCheck{}
		part = c.DockerBuild
	case CheckTerraform:
		c.Terraform = &TerraformCheck{}
		part = c.Terraform
	case CheckPipeline:
		c.Pipeline = &PipelineCheck{}
		part = c.Pipeline
	case CheckTCP:
		c.TCP = &TCPCheck{}
		part = c.TCP
	case CheckPortOwner:
		c.PortOwner = &PortOwnerCheck{}
		part = c.PortOwner
	}
	var base checkBase
	d.pos[path] = n
	present := d.decodeStruct(n, path, " for a "+typ+" check", reflect.ValueOf(&base).Elem(), reflect.ValueOf(part).Elem())
	c.ID, c.Title, c.Points, c.Timeout, c.Hidden = base.ID, base.Title, base.Points, base.Timeout, base.Hidden
	c.Type = typ
	_ = present
}
