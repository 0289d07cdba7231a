package challenges

import (
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// Port is a TCP/UDP port written as a number (8080) or as a ${VAR} that a
// seed or sandbox variable gives per attempt ("${APP_PORT}").
type Port string

var portVarRe = regexp.MustCompile(`^\$\{[A-Z][A-Z0-9_]*\}$`)

func (p *Port) decodeScalar(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil && v >= 1 && v <= 65535 {
			*p = Port(strconv.Itoa(v))
			return nil
		}
		return fmt.Errorf("must be a port between 1 and 65535, got %s", n.Value)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && portVarRe.MatchString(n.Value) {
		*p = Port(n.Value)
		return nil
	}
	return fmt.Errorf("must be a port number or a ${VAR} naming a seed or sandbox variable, got %s", describe(n))
}

// Resolve expands the port with env and checks the result is a port.
func (p Port) Resolve(env map[string]string) (int, error) {
	s := os.Expand(string(p), func(k string) string { return env[k] })
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 65535 {
		return 0, fmt.Errorf("port %q is %q, not a port number", string(p), s)
	}
	return v, nil
}

// Var is the variable name of a ${VAR} port ("" for a number).
func (p Port) Var() string {
	if portVarRe.MatchString(string(p)) {
		return string(p)[2 : len(p)-1]
	}
	return ""
}

// MarshalYAML writes a number as a number.
func (p Port) MarshalYAML() (any, error) {
	if v, err := strconv.Atoi(string(p)); err == nil {
		return v, nil
	}
	return string(p), nil
}

// JSONSchema describes Port for the schema generator.
func (Port) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "integer", Minimum: "1", Maximum: "65535"},
		{Type: "string", Pattern: portVarRe.String()},
	}, Examples: []any{8080, "${APP_PORT}"}}
}
