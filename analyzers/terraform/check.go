// Package terraform checks Terraform configuration statically: it
// parses .tf files with hcl/v2 and terraform-config-inspect and asserts
// resources and their attributes (nested blocks included), variables,
// outputs, `terraform fmt` cleanliness, tags and forbidden patterns. It never
// runs terraform and never touches the network: a pure function over the
// files' bytes, used by lint and by the grader.
package terraform

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// Assertions is what a terraform check asks of the configuration. The YAML
// tags let the challenge format embed it directly.
type Assertions struct {
	Resources       []ResourceAssertion `yaml:"resources,omitempty" json:"resources,omitempty" jsonschema_description:"resources that must exist, with attribute assertions"`
	Variables       []VariableAssertion `yaml:"variables,omitempty" json:"variables,omitempty" jsonschema_description:"input variables that must be declared"`
	Outputs         []string            `yaml:"outputs,omitempty" json:"outputs,omitempty" jsonschema:"uniqueItems=true" jsonschema_description:"output names that must be declared"`
	Fmt             bool                `yaml:"fmt,omitempty" json:"fmt,omitempty" jsonschema_description:"every .tf file must be formatted as terraform fmt would"`
	Forbid          []string            `yaml:"forbid,omitempty" json:"forbid,omitempty" jsonschema:"uniqueItems=true,enum=ssh-open-to-world,enum=open-ingress,enum=public-acl,enum=s3-public-access,enum=hardcoded-secret,enum=iam-wildcard-action" jsonschema_description:"forbidden patterns"`
	RequireTags     bool                `yaml:"require_tags,omitempty" json:"require_tags,omitempty" jsonschema_description:"every taggable resource must have tags (provider default_tags count)"`
	RequiredTagKeys []string            `yaml:"required_tag_keys,omitempty" json:"required_tag_keys,omitempty" jsonschema:"uniqueItems=true" jsonschema_description:"tag keys every taggable resource must carry (implies require_tags)"`
}

// ResourceAssertion asserts that a managed resource exists. Attribute paths
// are dotted and walk nested blocks and object values:
// server_side_encryption_configuration.rule.apply_server_side_encryption_by_default.sse_algorithm.
type ResourceAssertion struct {
	Type       string            `yaml:"type" json:"type" jsonschema:"required,pattern=^[a-z][a-z0-9_]*$" jsonschema_description:"resource type, e.g. aws_s3_bucket"`
	Name       string            `yaml:"name,omitempty" json:"name,omitempty" jsonschema_description:"resource name; when empty any resource of the type that satisfies every assertion passes"`
	Attributes map[string]string `yaml:"attributes,omitempty" json:"attributes,omitempty" jsonschema_description:"attribute path -> expected value (literal value, or the expression text such as aws_kms_key.this.arn)"`
	Present    []string          `yaml:"present,omitempty" json:"present,omitempty" jsonschema_description:"attribute or block paths that must be set"`
	Absent     []string          `yaml:"absent,omitempty" json:"absent,omitempty" jsonschema_description:"attribute or block paths that must not be set"`
}

func (r ResourceAssertion) String() string {
	if r.Name == "" {
		return r.Type
	}
	return r.Type + "." + r.Name
}

// VariableAssertion asserts an input variable.
type VariableAssertion struct {
	Name       string `yaml:"name" json:"name" jsonschema:"required"`
	Type       string `yaml:"type,omitempty" json:"type,omitempty" jsonschema_description:"type constraint as written, e.g. string or list(string); whitespace is ignored"`
	Validation bool   `yaml:"validation,omitempty" json:"validation,omitempty" jsonschema_description:"the variable must have a validation block"`
	Sensitive  bool   `yaml:"sensitive,omitempty" json:"sensitive,omitempty" jsonschema_description:"the variable must be marked sensitive"`
}

// Finding rules (besides the Forbid pattern ids).
const (
	RuleSyntax   = "syntax"
	RuleResource = "resource"
	RuleVariable = "variable"
	RuleOutput   = "output"
	RuleFmt      = "fmt"
	RuleTags     = "tags"
)

// Finding is one failed assertion at a place in a file.
type Finding struct {
	Rule    string `json:"rule"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func (f Finding) String() string {
	if f.Line == 0 {
		return fmt.Sprintf("%s: %s", f.File, f.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Col, f.Message)
}

// Report is the result of Check.
type Report struct {
	Findings []Finding `json:"findings"`
}

// OK reports whether every assertion held.
func (r Report) OK() bool { return len(r.Findings) == 0 }

// SyntaxErrors parses one .tf file and returns its syntax errors as findings
// (file:line:col). Lint uses it for starter files.
func SyntaxErrors(name string, src []byte) []Finding {
	_, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	return diagFindings(diags)
}

func diagFindings(diags hcl.Diagnostics) []Finding {
	var out []Finding
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		f := Finding{Rule: RuleSyntax, Message: d.Summary}
		if d.Detail != "" {
			f.Message += ": " + d.Detail
		}
		if d.Subject != nil {
			f.File, f.Line, f.Col = d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
		}
		out = append(out, f)
	}
	return out
}

type file struct {
	name string
	src  []byte
	body *hclsyntax.Body
}

type resource struct {
	typ, name string
	block     *hclsyntax.Block
	file      *file
}

func (r resource) addr() string { return r.typ + "." + r.name }

type module struct {
	files     []*file
	resources []resource
	variables map[string]*hclsyntax.Block
	varFile   map[string]*file
	providers []resource // typ = provider name
	inspect   *tfconfig.Module
	ctx       *hcl.EvalContext // static values of var.* defaults and local.* (resolve.go)
}

// Check applies a to the .tf files among files (name -> content; names are
// paths relative to the configuration directory, only the top level is a
// module). Other files are ignored. The error is for invalid assertions
// (an unknown forbid id); everything about the files is a finding.
func Check(files map[string][]byte, a Assertions) (Report, error) {
	for _, id := range a.Forbid {
		if _, ok := forbidRules[id]; !ok {
			return Report{}, fmt.Errorf("terraform analyzer: unknown forbid pattern %q (known: %s)", id, strings.Join(ForbidPatterns(), ", "))
		}
	}
	rep := Report{Findings: []Finding{}}
	m, syntax := load(files)
	if len(syntax) > 0 {
		rep.Findings = syntax
		return rep, nil
	}
	if len(m.files) == 0 {
		rep.Findings = append(rep.Findings, Finding{Rule: RuleSyntax, Message: "no .tf files found"})
		return rep, nil
	}
	add := func(fs ...Finding) { rep.Findings = append(rep.Findings, fs...) }
	for _, ra := range a.Resources {
		add(m.checkResource(ra)...)
	}
	for _, va := range a.Variables {
		add(m.checkVariable(va)...)
	}
	for _, o := range a.Outputs {
		if _, ok := m.inspect.Outputs[o]; !ok {
			add(Finding{Rule: RuleOutput, File: m.files[0].name, Message: fmt.Sprintf("output %q is not declared", o)})
		}
	}
	if a.Fmt {
		for _, f := range m.files {
			add(checkFmt(f)...)
		}
	}
	if a.RequireTags || len(a.RequiredTagKeys) > 0 {
		add(m.checkTags(a.RequiredTagKeys)...)
	}
	for _, id := range a.Forbid {
		add(forbidRules[id].check(m)...)
	}
	return rep, nil
}

func load(files map[string][]byte) (*module, []Finding) {
	m := &module{variables: map[string]*hclsyntax.Block{}, varFile: map[string]*file{}}
	mfs := fstest.MapFS{}
	var syntax []Finding
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !strings.HasSuffix(name, ".tf") || strings.Contains(path.Clean(name), "/") {
			continue
		}
		src := files[name]
		mfs[name] = &fstest.MapFile{Data: src, Mode: 0o644}
		hf, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			syntax = append(syntax, diagFindings(diags)...)
			continue
		}
		f := &file{name: name, src: src, body: hf.Body.(*hclsyntax.Body)}
		m.files = append(m.files, f)
		for _, b := range f.body.Blocks {
			switch {
			case b.Type == "resource" && len(b.Labels) == 2:
				m.resources = append(m.resources, resource{b.Labels[0], b.Labels[1], b, f})
			case b.Type == "variable" && len(b.Labels) == 1:
				m.variables[b.Labels[0]] = b
				m.varFile[b.Labels[0]] = f
			case b.Type == "provider" && len(b.Labels) == 1:
				m.providers = append(m.providers, resource{b.Labels[0], "", b, f})
			}
		}
	}
	if len(syntax) > 0 {
		return nil, syntax
	}
	mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(mfs), ".")
	if diags.HasErrors() {
		for _, d := range diags {
			f := Finding{Rule: RuleSyntax, Message: d.Summary}
			if d.Detail != "" {
				f.Message += ": " + d.Detail
			}
			if d.Pos != nil {
				f.File, f.Line = d.Pos.Filename, d.Pos.Line
			}
			syntax = append(syntax, f)
		}
		return nil, syntax
	}
	m.inspect = mod
	return m, nil
}

func at(f *file, r hcl.Range, rule, format string, args ...any) Finding {
	return Finding{Rule: rule, File: f.name, Line: r.Start.Line, Col: r.Start.Column, Message: fmt.Sprintf(format, args...)}
}

func (m *module) checkResource(ra ResourceAssertion) []Finding {
	var cands []resource
	var empty *Finding
	for _, r := range m.resources {
		if r.typ == ra.Type && (ra.Name == "" || r.name == ra.Name) {
			// count = 0 or an empty for_each declares a resource that
			// creates nothing: it does not satisfy "must exist".
			if n, expr, known := m.instances(r); known && n == 0 {
				if empty == nil {
					f := at(r.file, r.block.DefRange(), RuleResource, "%s is declared with %s: it creates no instance", r.addr(), expr)
					empty = &f
				}
				continue
			}
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		if empty != nil {
			return []Finding{*empty}
		}
		return []Finding{{Rule: RuleResource, File: m.files[0].name, Message: fmt.Sprintf("resource %s is not declared", ra)}}
	}
	var first []Finding
	for i, r := range cands {
		fs := checkAttrs(r, ra)
		if len(fs) == 0 {
			return nil
		}
		if i == 0 {
			first = fs
		}
	}
	if len(cands) > 1 {
		for i := range first {
			first[i].Message += fmt.Sprintf(" (and no other %s satisfies the check)", ra.Type)
		}
	}
	return first
}

func checkAttrs(r resource, ra ResourceAssertion) []Finding {
	var out []Finding
	def := r.block.DefRange()
	for _, p := range slices.Sorted(maps.Keys(ra.Attributes)) {
		want := ra.Attributes[p]
		vals := lookup(r.block.Body, r.file.src, strings.Split(p, "."))
		if len(vals) == 0 {
			out = append(out, at(r.file, def, RuleResource, "%s: %s is not set (want %q)", r.addr(), p, want))
			continue
		}
		ok := false
		for _, v := range vals {
			if v.text == want || compact(v.text) == compact(want) {
				ok = true
			}
		}
		if !ok {
			out = append(out, at(r.file, vals[0].rng, RuleResource, "%s: %s is %s, want %q", r.addr(), p, quoteIfPlain(vals[0]), want))
		}
	}
	for _, p := range ra.Present {
		if len(lookup(r.block.Body, r.file.src, strings.Split(p, "."))) == 0 {
			out = append(out, at(r.file, def, RuleResource, "%s: %s is not set", r.addr(), p))
		}
	}
	for _, p := range ra.Absent {
		if vals := lookup(r.block.Body, r.file.src, strings.Split(p, ".")); len(vals) > 0 {
			out = append(out, at(r.file, vals[0].rng, RuleResource, "%s: %s must not be set", r.addr(), p))
		}
	}
	return out
}

func quoteIfPlain(v value) string {
	if v.block {
		return "a block"
	}
	return fmt.Sprintf("%q", v.text)
}

func (m *module) checkVariable(va VariableAssertion) []Finding {
	b, ok := m.variables[va.Name]
	if !ok {
		return []Finding{{Rule: RuleVariable, File: m.files[0].name, Message: fmt.Sprintf("variable %q is not declared", va.Name)}}
	}
	f := m.varFile[va.Name]
	var out []Finding
	if va.Type != "" {
		got := ""
		if v := m.inspect.Variables[va.Name]; v != nil {
			got = v.Type
		}
		if compact(got) != compact(va.Type) {
			if got == "" {
				out = append(out, at(f, b.DefRange(), RuleVariable, "variable %q has no type, want type = %s", va.Name, va.Type))
			} else {
				out = append(out, at(f, b.Body.Attributes["type"].SrcRange, RuleVariable, "variable %q has type %s, want %s", va.Name, got, va.Type))
			}
		}
	}
	if va.Validation {
		// A validation block counts only when its condition depends on the
		// variable: condition = true (or a test of something else) accepts
		// every value.
		var why string
		ok := false
		for _, x := range b.Body.Blocks {
			if x.Type != "validation" {
				continue
			}
			if good, w := validatesVar(x, f.src, va.Name); good {
				ok = true
			} else if why == "" {
				why = w
			}
		}
		switch {
		case ok:
		case why == "":
			out = append(out, at(f, b.DefRange(), RuleVariable, "variable %q has no validation block", va.Name))
		default:
			out = append(out, at(f, b.DefRange(), RuleVariable, "variable %q has a validation block that validates nothing: its %s", va.Name, why))
		}
	}
	if va.Sensitive {
		v := lookup(b.Body, f.src, []string{"sensitive"})
		if len(v) == 0 || v[0].text != "true" {
			out = append(out, at(f, b.DefRange(), RuleVariable, "variable %q is not marked sensitive = true", va.Name))
		}
	}
	return out
}

func checkFmt(f *file) []Finding {
	want := hclwrite.Format(f.src)
	if bytes.Equal(want, f.src) {
		return nil
	}
	gotLines := strings.Split(string(f.src), "\n")
	wantLines := strings.Split(string(want), "\n")
	for i := 0; i < max(len(gotLines), len(wantLines)); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			return []Finding{{Rule: RuleFmt, File: f.name, Line: i + 1, Col: 1,
				Message: fmt.Sprintf("not formatted as terraform fmt would (first difference): got %q, want %q", g, w)}}
		}
	}
	return []Finding{{Rule: RuleFmt, File: f.name, Line: 1, Col: 1, Message: "not formatted as terraform fmt would"}}
}
