// Package dockerfile checks a Dockerfile statically against opsdojo's
// rules (non-root user, pinned base, HEALTHCHECK, multi-stage, no secrets,
// apt lists cleaned, exec-form CMD). It is a pure function over bytes: no
// Docker, no disk, safe to call from lint and from the grader.
package dockerfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Severity of a finding. Every rule the check asks for is an error; parse
// problems are errors too.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Rule ids.
const (
	RuleSyntax      = "DF000"
	RuleNonRootUser = "DF001"
	RulePinnedBase  = "DF002"
	RuleHealthcheck = "DF003"
	RuleMultistage  = "DF004"
	RuleNoSecrets   = "DF005"
	RuleAptClean    = "DF006"
	RuleExecFormCmd = "DF007"
)

// Rule describes one rule for authors and the UI.
type Rule struct {
	ID      string
	Title   string
	Default bool // checked when Options.Rules is empty
}

var ruleTable = []Rule{
	{RuleNonRootUser, "the final stage runs as a non-root USER", true},
	{RulePinnedBase, "every FROM pins a tag or digest (not latest)", true},
	{RuleHealthcheck, "the final stage declares a HEALTHCHECK that probes the application", true},
	{RuleMultistage, "multi-stage build: the final stage copies from a build stage", false},
	{RuleNoSecrets, "no secret values in ENV or ARG (by name or by shape)", true},
	{RuleAptClean, "apt-get install cleans /var/lib/apt/lists in the same RUN", true},
	{RuleExecFormCmd, "CMD and ENTRYPOINT use the exec (JSON array) form", true},
}

// Rules lists the rules (without the syntax pseudo-rule DF000).
func Rules() []Rule { return slices.Clone(ruleTable) }

// IsRule reports whether id names a rule.
func IsRule(id string) bool {
	return slices.ContainsFunc(ruleTable, func(r Rule) bool { return r.ID == id })
}

// Options selects the rules. The YAML tags let the challenge format embed it.
type Options struct {
	// Rules to check; empty means every default rule (all but DF004).
	Rules []string `yaml:"rules,omitempty" json:"rules,omitempty" jsonschema:"uniqueItems=true,enum=DF001,enum=DF002,enum=DF003,enum=DF004,enum=DF005,enum=DF006,enum=DF007" jsonschema_description:"rule ids to check (DF001 non-root USER, DF002 pinned base, DF003 HEALTHCHECK, DF004 multi-stage, DF005 no secrets in ENV/ARG, DF006 apt lists cleaned, DF007 exec-form CMD/ENTRYPOINT); empty = all but DF004"`
	// RequireMultistage adds DF004.
	RequireMultistage bool `yaml:"require_multistage,omitempty" json:"require_multistage,omitempty" jsonschema_description:"also require a multi-stage build (DF004)"`
}

// Finding is one broken rule at a line (1-based).
type Finding struct {
	Rule     string   `json:"rule"`
	Line     int      `json:"line"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

func (f Finding) String() string { return fmt.Sprintf("%d: %s %s", f.Line, f.Rule, f.Message) }

// Report is the result of Check: the rules checked and what broke them.
type Report struct {
	Name     string    `json:"name"`
	Rules    []string  `json:"rules"`
	Findings []Finding `json:"findings"`
}

// OK reports whether no error-severity finding was made.
func (r Report) OK() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return false
		}
	}
	return true
}

// Failed returns the ids of the rules (including DF000) that have findings.
func (r Report) Failed() []string {
	var ids []string
	for _, f := range r.Findings {
		if !slices.Contains(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	return ids
}

// Check parses src (named name in messages) and applies the rules that opts
// selects. A Dockerfile that does not parse yields a single DF000 finding,
// not an error; the error is for invalid options (an unknown rule id).
func Check(name string, src []byte, opts Options) (Report, error) {
	rules, err := selectRules(opts)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Name: name, Rules: rules, Findings: []Finding{}}
	df, err := parse(src)
	if err != nil {
		se := err.(*SyntaxError)
		rep.Findings = append(rep.Findings, Finding{RuleSyntax, se.Line, SeverityError, "Dockerfile does not parse: " + se.Msg})
		return rep, nil
	}
	for _, id := range rules {
		rep.Findings = append(rep.Findings, checks[id](df)...)
	}
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int { return a.Line - b.Line })
	return rep, nil
}

func selectRules(opts Options) ([]string, error) {
	var rules []string
	if len(opts.Rules) == 0 {
		for _, r := range ruleTable {
			if r.Default {
				rules = append(rules, r.ID)
			}
		}
	}
	for _, id := range opts.Rules {
		if !IsRule(id) {
			return nil, fmt.Errorf("dockerfile analyzer: unknown rule %q", id)
		}
		if !slices.Contains(rules, id) {
			rules = append(rules, id)
		}
	}
	if opts.RequireMultistage && !slices.Contains(rules, RuleMultistage) {
		rules = append(rules, RuleMultistage)
	}
	slices.Sort(rules)
	return rules, nil
}

var checks = map[string]func(*dockerfile) []Finding{
	RuleNonRootUser: checkUser,
	RulePinnedBase:  checkPinned,
	RuleHealthcheck: checkHealthcheck,
	RuleMultistage:  checkMultistage,
	RuleNoSecrets:   checkSecrets,
	RuleAptClean:    checkApt,
	RuleExecFormCmd: checkExecForm,
}

func fail(rule string, line int, format string, args ...any) Finding {
	return Finding{Rule: rule, Line: line, Severity: SeverityError, Message: fmt.Sprintf(format, args...)}
}

// chain returns the final stage and the stages it is built FROM, final first.
func (df *dockerfile) chain() []*stage {
	st := df.stages[len(df.stages)-1]
	out := []*stage{st}
	for {
		base := df.stageByName(df.expand(st.base, df.metaArgs), st.index)
		if base == nil {
			return out
		}
		out = append(out, base)
		st = base
	}
}

// last finds the last instruction cmd in the final image (walking back
// through the stages it derives from) and the stage holding it.
func (df *dockerfile) last(cmd string) (instr, *stage, bool) {
	for _, st := range df.chain() {
		for i := len(st.instrs) - 1; i >= 0; i-- {
			if st.instrs[i].cmd == cmd {
				return st.instrs[i], st, true
			}
		}
	}
	return instr{}, nil, false
}

func (df *dockerfile) index(st *stage, in instr) int {
	for i, x := range st.instrs {
		if x.line == in.line {
			return i
		}
	}
	return len(st.instrs)
}

func checkUser(df *dockerfile) []Finding {
	final := df.stages[len(df.stages)-1]
	in, st, ok := df.last("user")
	if !ok {
		return []Finding{fail(RuleNonRootUser, final.line, "the final stage has no USER instruction, so the container runs as root; add USER with a non-root user")}
	}
	user := df.expand(strings.Join(in.args, " "), df.stageVars(st, df.index(st, in)))
	name, _, _ := strings.Cut(user, ":")
	if name == "root" || isZero(name) || name == "" {
		return []Finding{fail(RuleNonRootUser, in.line, "the final USER is %q: the container runs as root; switch to a non-root user", user)}
	}
	if line, ok := df.uidZeroAlias(name); ok {
		return []Finding{fail(RuleNonRootUser, in.line, "the final USER %q is given uid 0 on line %d: a uid-0 user is root under another name; create it with a non-zero uid", name, line)}
	}
	return nil
}

var digestRe = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

func checkPinned(df *dockerfile) []Finding {
	var out []Finding
	for _, st := range df.stages {
		image, unmatched, err := df.expandUnmatched(st.base, df.metaArgs)
		switch {
		case err != nil:
			out = append(out, fail(RulePinnedBase, st.line, "cannot expand base image %q: %v", st.base, err))
			continue
		case len(unmatched) > 0:
			out = append(out, fail(RulePinnedBase, st.line, "base image %q uses ARG %s with no default: give it a pinned default", st.base, strings.Join(unmatched, ", ")))
			continue
		case image == "":
			out = append(out, fail(RulePinnedBase, st.line, "base image %q expands to nothing", st.base))
			continue
		}
		if image == "scratch" || df.stageByName(image, st.index) != nil || digestRe.MatchString(image) {
			continue
		}
		shown := image
		if image != st.base {
			shown = fmt.Sprintf("%s (%s)", st.base, image)
		}
		repo := image[strings.LastIndex(image, "/")+1:]
		_, tag, hasTag := strings.Cut(repo, ":")
		switch {
		case !hasTag:
			out = append(out, fail(RulePinnedBase, st.line, "base image %s has no tag, which means latest: pin a version tag or digest", shown))
		case tag == "latest":
			out = append(out, fail(RulePinnedBase, st.line, "base image %s uses the latest tag: pin a version tag or digest", shown))
		}
	}
	return out
}

func checkHealthcheck(df *dockerfile) []Finding {
	in, _, ok := df.last("healthcheck")
	if !ok {
		return []Finding{fail(RuleHealthcheck, df.stages[len(df.stages)-1].line, "the final stage has no HEALTHCHECK instruction")}
	}
	if len(in.args) > 0 && strings.EqualFold(in.args[0], "NONE") {
		return []Finding{fail(RuleHealthcheck, in.line, "HEALTHCHECK NONE disables the health check")}
	}
	if why := df.judgeHealthcheck(in); why != "" {
		return []Finding{fail(RuleHealthcheck, in.line, "%s", why)}
	}
	return nil
}

func checkMultistage(df *dockerfile) []Finding {
	final := df.stages[len(df.stages)-1]
	if len(df.stages) < 2 {
		return []Finding{fail(RuleMultistage, final.line, "single-stage build: build in one stage and COPY --from it into a small final stage")}
	}
	for _, st := range df.chain() {
		for _, in := range st.instrs {
			if in.cmd != "copy" {
				continue
			}
			if from, ok := in.flag("from"); ok && df.stageByName(df.expand(from, df.metaArgs), st.index) != nil {
				return nil
			}
		}
	}
	return []Finding{fail(RuleMultistage, final.line, "the final stage does not COPY --from an earlier build stage")}
}

var (
	secretNameRe  = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH_?KEY)`)
	secretSafeRe  = regexp.MustCompile(`(?i)_(FILE|PATH|DIR|URL_ENV)$`)
	aptInstallRe  = regexp.MustCompile(`\bapt(-get)?\s+(-\S+\s+)*install\b`)
	aptCleanRe    = regexp.MustCompile(`\brm\s+(-[a-zA-Z]+\s+)*-[a-zA-Z]*r[a-zA-Z]*\s+(-[a-zA-Z]+\s+)*(\S+\s+)*/var/lib/apt/lists`)
	cacheMountApt = regexp.MustCompile(`type=cache.*target=/var/lib/apt|target=/var/lib/apt.*type=cache`)
)

func isSecretName(name string) bool {
	return secretNameRe.MatchString(name) && !secretSafeRe.MatchString(name)
}

func checkSecrets(df *dockerfile) []Finding {
	var out []Finding
	consider := func(in instr, kind, key, val string) {
		if isSecretName(key) && strings.TrimSpace(val) != "" {
			out = append(out, fail(RuleNoSecrets, in.line, "%s %s sets a secret value that stays in the image history: pass it at run time (env or a mounted secret) or use RUN --mount=type=secret", kind, key))
		} else if what := credentialShape(val); what != "" {
			out = append(out, fail(RuleNoSecrets, in.line, "%s %s holds %s, which stays in the image history: pass it at run time (env or a mounted secret)", kind, key, what))
		}
	}
	visit := func(ins []instr) {
		for _, in := range ins {
			switch in.cmd {
			case "env":
				for i := 0; i+1 < len(in.args); i += 3 {
					consider(in, "ENV", in.args[i], in.args[i+1])
				}
			case "arg":
				for _, kv := range in.args {
					k, v, _ := strings.Cut(kv, "=")
					consider(in, "ARG", k, v)
				}
			}
		}
	}
	for _, k := range sortedKeys(df.metaArgs) {
		if (isSecretName(k) && strings.TrimSpace(df.metaArgs[k]) != "") || credentialShape(df.metaArgs[k]) != "" {
			out = append(out, fail(RuleNoSecrets, df.stages[0].line, "ARG %s (before the first FROM) has a secret default value: pass it at build time with a secret mount instead", k))
		}
	}
	for _, st := range df.stages {
		visit(st.instrs)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func checkApt(df *dockerfile) []Finding {
	var out []Finding
	for _, st := range df.chain() {
		for _, in := range st.instrs {
			if in.cmd != "run" {
				continue
			}
			text := strings.Join(in.args, " ") + "\n" + strings.Join(in.heredocs, "\n")
			if !aptInstallRe.MatchString(text) {
				continue
			}
			mounted := false
			for _, f := range in.flags {
				if strings.HasPrefix(f, "--mount=") && cacheMountApt.MatchString(f) {
					mounted = true
				}
			}
			if !mounted && !aptCleanRe.MatchString(text) {
				out = append(out, fail(RuleAptClean, in.line, "RUN installs packages with apt but does not remove /var/lib/apt/lists in the same RUN: add && rm -rf /var/lib/apt/lists/*"))
			}
		}
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Line - b.Line })
	return out
}

func checkExecForm(df *dockerfile) []Finding {
	var out []Finding
	for _, cmd := range []string{"cmd", "entrypoint"} {
		in, _, ok := df.last(cmd)
		if ok && !in.json {
			out = append(out, fail(RuleExecFormCmd, in.line, "%s uses the shell form, so the process runs under /bin/sh -c and does not receive signals: use the exec form %s [\"executable\", \"arg\"]", strings.ToUpper(cmd), strings.ToUpper(cmd)))
		}
	}
	return out
}
