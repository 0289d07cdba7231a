package challenges

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opsdojo/opsdojo/analyzers/dockerfile"
	"github.com/opsdojo/opsdojo/analyzers/terraform"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

const schemaPath = "../docs/challenge.schema.json"

// TestSchemaUpToDate fails when docs/challenge.schema.json differs from
// what the Go types generate; go generate ./challenges (or -update) fixes it.
func TestSchemaUpToDate(t *testing.T) {
	t.Parallel()
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("%v (run go generate ./challenges)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: run go generate ./challenges", schemaPath)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("challenge.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("challenge.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlAsJSON(t *testing.T, path string) any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// TestSchemaValidatesFixtures: every good fixture and scaffold is valid
// under the schema; the bad fixtures whose problem is structural are not.
func TestSchemaValidatesFixtures(t *testing.T) {
	t.Parallel()
	s := compileSchema(t)
	good, _ := filepath.Glob(filepath.Join("testdata", "good", "*", SpecFile))
	for _, kind := range Kinds {
		good = append(good, filepath.Join(writeScaffold(t, kind, "schema-"+string(kind)), SpecFile))
	}
	for _, p := range good {
		if err := s.Validate(yamlAsJSON(t, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, name := range []string{"unknown-field", "wrong-type", "no-points", "zero-points", "unknown-check-type", "bad-size", "bad-capability", "missing-required", "check-fields", "seed-bad"} {
		p := filepath.Join("testdata", "bad", name, SpecFile)
		if err := s.Validate(yamlAsJSON(t, p)); err == nil {
			t.Errorf("%s: schema accepts it", p)
		}
	}
}

// TestSchemaEnumsMatchTables guards the enums written in struct tags
// against the tables the loader and engines use.
func TestSchemaEnumsMatchTables(t *testing.T) {
	t.Parallel()
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs struct {
			Sandbox struct {
				Properties struct {
					Capabilities struct {
						Items struct{ Enum []string }
					}
				}
			}
		} `json:"$defs"`
		Properties struct {
			Checks struct {
				Items struct {
					OneOf []struct {
						Title      string
						Properties map[string]struct {
							Items struct{ Enum []string }
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if got := s.Defs.Sandbox.Properties.Capabilities.Items.Enum; !slices.Equal(got, AllowedCapabilities) {
		t.Errorf("capabilities enum %v, table %v", got, AllowedCapabilities)
	}
	var rules []string
	for _, r := range dockerfile.Rules() {
		rules = append(rules, r.ID)
	}
	for _, v := range s.Properties.Checks.Items.OneOf {
		switch v.Title {
		case "dockerfile check":
			if got := v.Properties["rules"].Items.Enum; !slices.Equal(got, rules) {
				t.Errorf("rules enum %v, table %v", got, rules)
			}
		case "terraform check":
			if got := slices.Sorted(slices.Values(v.Properties["forbid"].Items.Enum)); !slices.Equal(got, terraform.ForbidPatterns()) {
				t.Errorf("forbid enum %v, table %v", got, terraform.ForbidPatterns())
			}
		}
	}
}
