package challenges

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
)

// scalarDecoder is implemented by the value types that parse themselves
// from a YAML scalar; the error message says what was expected.
type scalarDecoder interface {
	decodeScalar(n *yaml.Node) error
}

// Duration is a time.Duration written as a Go duration string ("90s", "20m").
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration without trailing zero units (5m, 1h30m).
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (d *Duration) decodeScalar(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("must be a duration such as 30s or 20m, got %s", describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		return fmt.Errorf("must be a positive duration such as 30s or 20m, got %q", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// JSONSchema describes Duration for the schema generator.
func (Duration) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, Examples: []any{"30s", "20m", "1h30m"}}
}

// Size is a byte count written as an integer or with a binary (Ki, Mi, Gi,
// Ti) or decimal (K, M, G, T) suffix.
type Size int64

var sizeRe = regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|Ti|K|M|G|T)?$`)

var sizeUnits = map[string]int64{"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}

// ParseSize parses "256Mi", "1G" or "1048576".
func ParseSize(s string) (Size, error) {
	m := sizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("must be a size such as 256Mi, 1Gi or a number of bytes, got %q", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("must be a positive size such as 256Mi, got %q", s)
	}
	u := sizeUnits[m[2]]
	if n > (1<<62)/u {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(n * u), nil
}

func (s *Size) decodeScalar(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		return fmt.Errorf("must be a size such as 256Mi, got %s", describe(n))
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

func (s Size) String() string {
	for _, u := range []string{"Ti", "Gi", "Mi", "Ki"} {
		if s != 0 && int64(s)%sizeUnits[u] == 0 {
			return fmt.Sprintf("%d%s", int64(s)/sizeUnits[u], u)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalYAML writes the size back with its largest exact binary unit.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// JSONSchema describes Size for the schema generator.
func (Size) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{
		{Type: "string", Pattern: sizeRe.String()},
		{Type: "integer", Minimum: "1"},
	}, Examples: []any{"256Mi", "1Gi"}}
}

// FileMode is octal permissions written as a string ("0644") or YAML
// octal (0o644). A bare YAML integer such as 644 is refused: it is decimal.
type FileMode uint32

var modeRe = regexp.MustCompile(`^0?[0-7]{3,4}$`)

func (m *FileMode) decodeScalar(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be an octal mode such as \"0644\", got %s", describe(n))
	}
	s := n.Value
	if n.Tag == "!!int" {
		if len(s) > 2 && (s[:2] == "0o" || s[:2] == "0O") {
			s = s[2:]
		} else if len(s) < 2 || s[0] != '0' {
			return fmt.Errorf("must be an octal mode written as a string such as \"0644\", got %s (a decimal number)", s)
		}
	} else if n.Tag != "!!str" {
		return fmt.Errorf("must be an octal mode such as \"0644\", got %s", describe(n))
	}
	if !modeRe.MatchString(s) {
		return fmt.Errorf("must be an octal mode such as \"0644\", got %q", n.Value)
	}
	v, _ := strconv.ParseUint(s, 8, 32)
	if v > 0o7777 {
		return fmt.Errorf("mode %q is out of range", n.Value)
	}
	*m = FileMode(v)
	return nil
}

func (m FileMode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// MarshalYAML writes the mode back as an octal string.
func (m FileMode) MarshalYAML() (any, error) { return m.String(), nil }

// JSONSchema describes FileMode for the schema generator.
func (FileMode) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: `^0?[0-7]{3,4}$`, Examples: []any{"0644", "0755"}}
}
