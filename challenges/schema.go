package challenges

//go:generate go test -run TestSchemaUpToDate -update .

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"
)

// checkParts pairs each check type with the struct holding its fields.
var checkParts = []struct {
	typ  string
	part any
}{
	{CheckScript, ScriptCheck{}},
	{CheckFile, FileCheck{}},
	{CheckHTTP, HTTPCheck{}},
	{CheckDockerfile, DockerfileCheck{}},
	{CheckDockerBuild, DockerBuildCheck{}},
	{CheckTerraform, TerraformCheck{}},
	{CheckPipeline, PipelineCheck{}},
	{CheckTCP, TCPCheck{}},
	{CheckPortOwner, PortOwnerCheck{}},
}

// Schema generates the JSON Schema of challenge.yaml from the Go types
// (docs/challenge.schema.json is this output; a test keeps them equal).
// A check is a oneOf over its types: each variant has the common fields
// plus its own, and only those (additionalProperties: false), so editors
// complete and flag fields per type.
func Schema() ([]byte, error) {
	r := newReflector()
	r.Mapper = func(t reflect.Type) *jsonschema.Schema {
		if t == reflect.TypeFor[Check]() {
			return checkSchema()
		}
		return nil
	}
	s := r.Reflect(&Spec{})
	walkSchema(s, scalarMapValues)
	s.ID = SchemaURL
	s.Title = "opsdojo challenge"
	s.Description = "challenge.yaml of an opsdojo challenge (see docs/CHALLENGES.md)"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func newReflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
}

func checkSchema() *jsonschema.Schema {
	sub := newReflector()
	sub.DoNotReference = true
	sub.Anonymous = true
	base := sub.Reflect(&checkBase{})
	out := &jsonschema.Schema{Description: "a graded check; type selects its fields (script when omitted)"}
	for _, cp := range checkParts {
		part := sub.Reflect(cp.part)
		v := &jsonschema.Schema{Type: "object", Title: cp.typ + " check", Properties: jsonschema.NewProperties(), AdditionalProperties: jsonschema.FalseSchema}
		for p := base.Properties.Oldest(); p != nil; p = p.Next() {
			ps := *p.Value
			if p.Key == "type" {
				ps.Const = cp.typ
			}
			v.Properties.Set(p.Key, &ps)
		}
		for p := part.Properties.Oldest(); p != nil; p = p.Next() {
			v.Properties.Set(p.Key, p.Value)
		}
		v.Required = append(append([]string{}, base.Required...), part.Required...)
		if cp.typ != CheckScript {
			v.Required = append(v.Required, "type")
		}
		v.Description = part.Description
		out.OneOf = append(out.OneOf, v)
	}
	return out
}

// scalarMapValues lets map values (sandbox.env, terraform attributes) be
// any YAML scalar, as the loader accepts: PORT: 8080 is natural YAML.
func scalarMapValues(s *jsonschema.Schema) {
	if ap := s.AdditionalProperties; ap != nil && ap.Type == "string" {
		s.AdditionalProperties = &jsonschema.Schema{Type: "", OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "number"}, {Type: "boolean"}}}
	}
}

func walkSchema(s *jsonschema.Schema, fn func(*jsonschema.Schema)) {
	if s == nil {
		return
	}
	fn(s)
	if s.Properties != nil {
		for p := s.Properties.Oldest(); p != nil; p = p.Next() {
			walkSchema(p.Value, fn)
		}
	}
	for _, d := range s.Definitions {
		walkSchema(d, fn)
	}
	for _, o := range s.OneOf {
		walkSchema(o, fn)
	}
	walkSchema(s.Items, fn)
}

// wrongFixObject is WrongFix without its JSONSchema method (the mapping form).
type wrongFixObject WrongFix

// JSONSchema describes a wrong fix: a script path, or a mapping with the
// script and what it must score.
func (WrongFix) JSONSchema() *jsonschema.Schema {
	sub := newReflector()
	sub.DoNotReference = true
	sub.Anonymous = true
	obj := sub.Reflect(&wrongFixObject{})
	m := &jsonschema.Schema{Type: "object", Properties: obj.Properties, Required: obj.Required, AdditionalProperties: jsonschema.FalseSchema}
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "string", Description: "bash script in the challenge dir"},
		m,
	}}
}
