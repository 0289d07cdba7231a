package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// SyntaxError is a Dockerfile that buildkit would refuse, with the line
// (1-based) where the problem starts.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// knownInstructions are the instructions buildkit accepts. buildkit's parser
// itself accepts any word as an instruction (the typed "instructions"
// package rejects them later); we reject them here so that a typo such as
// FORM is reported at lint time with its line.
var knownInstructions = map[string]bool{
	"add": true, "arg": true, "cmd": true, "copy": true, "entrypoint": true,
	"env": true, "expose": true, "from": true, "healthcheck": true, "label": true,
	"maintainer": true, "onbuild": true, "run": true, "shell": true,
	"stopsignal": true, "user": true, "volume": true, "workdir": true,
}

// instr is one instruction with its arguments as the parser split them.
type instr struct {
	cmd      string // lower case
	args     []string
	flags    []string
	json     bool // exec (JSON array) form
	line     int
	original string
	heredocs []string
}

func (i instr) flag(name string) (string, bool) {
	for _, f := range i.flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

type stage struct {
	index    int
	name     string // AS name, lower case
	base     string // FROM image as written
	line     int
	instrs   []instr
	fromLine instr
}

type dockerfile struct {
	metaArgs map[string]string // ARG defaults before the first FROM
	metaSet  map[string]bool   // ARG declared before the first FROM (with or without default)
	stages   []*stage
	escape   rune
}

// Validate reports whether src is a Dockerfile buildkit would accept; the
// error is a *SyntaxError with the offending line.
func Validate(src []byte) error {
	_, err := parse(src)
	return err
}

func parse(src []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, &SyntaxError{Line: errLine(err), Msg: errMsg(err)}
	}
	df := &dockerfile{metaArgs: map[string]string{}, metaSet: map[string]bool{}, escape: res.EscapeToken}
	for _, n := range res.AST.Children {
		in := instr{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"], line: n.StartLine, original: n.Original}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		for _, h := range n.Heredocs {
			in.heredocs = append(in.heredocs, h.Content)
		}
		if !knownInstructions[in.cmd] {
			return nil, &SyntaxError{Line: in.line, Msg: fmt.Sprintf("unknown instruction: %s", strings.ToUpper(n.Value))}
		}
		if in.cmd == "from" {
			st, err := newStage(in, len(df.stages))
			if err != nil {
				return nil, err
			}
			df.stages = append(df.stages, st)
			continue
		}
		if len(df.stages) == 0 {
			if in.cmd != "arg" {
				return nil, &SyntaxError{Line: in.line, Msg: fmt.Sprintf("%s before the first FROM (only ARG may come before FROM)", strings.ToUpper(n.Value))}
			}
			for _, kv := range in.args {
				k, v, hasDefault := strings.Cut(kv, "=")
				df.metaSet[k] = true
				if hasDefault {
					df.metaArgs[k] = df.expand(v, df.metaArgs)
				}
			}
			continue
		}
		if err := checkArgs(in); err != nil {
			return nil, err
		}
		st := df.stages[len(df.stages)-1]
		st.instrs = append(st.instrs, in)
	}
	if len(df.stages) == 0 {
		line := 1
		if len(res.AST.Children) > 0 {
			line = res.AST.Children[len(res.AST.Children)-1].StartLine
		}
		return nil, &SyntaxError{Line: line, Msg: "no FROM instruction: a Dockerfile must start a build stage"}
	}
	return df, nil
}

func newStage(in instr, index int) (*stage, error) {
	st := &stage{index: index, line: in.line, fromLine: in}
	switch len(in.args) {
	case 1:
	case 3:
		if !strings.EqualFold(in.args[1], "as") {
			return nil, &SyntaxError{Line: in.line, Msg: fmt.Sprintf("FROM: expected \"AS name\" after the image, got %q", in.args[1])}
		}
		st.name = strings.ToLower(in.args[2])
	default:
		if len(in.args) == 0 || in.args[0] == "" {
			return nil, &SyntaxError{Line: in.line, Msg: "FROM requires an image"}
		}
		return nil, &SyntaxError{Line: in.line, Msg: "FROM: expected \"FROM image [AS name]\""}
	}
	st.base = in.args[0]
	return st, nil
}

// checkArgs catches the argument errors buildkit's typed parser would.
func checkArgs(in instr) error {
	empty := len(in.args) == 0 || (len(in.args) == 1 && strings.TrimSpace(in.args[0]) == "")
	switch in.cmd {
	case "run", "cmd", "entrypoint", "user", "workdir", "expose", "stopsignal", "maintainer", "shell", "label", "env", "arg", "volume":
		if empty && len(in.heredocs) == 0 && !(in.json && (in.cmd == "cmd" || in.cmd == "entrypoint")) {
			return &SyntaxError{Line: in.line, Msg: fmt.Sprintf("%s requires at least one argument", strings.ToUpper(in.cmd))}
		}
	case "copy", "add":
		if len(in.args) < 2 && len(in.heredocs) == 0 {
			return &SyntaxError{Line: in.line, Msg: fmt.Sprintf("%s requires at least two arguments (source and destination)", strings.ToUpper(in.cmd))}
		}
	case "healthcheck":
		if empty {
			return &SyntaxError{Line: in.line, Msg: "HEALTHCHECK requires NONE or CMD"}
		}
		kind := strings.ToUpper(in.args[0])
		if kind != "NONE" && kind != "CMD" {
			return &SyntaxError{Line: in.line, Msg: fmt.Sprintf("HEALTHCHECK: unknown type %q (want NONE or CMD)", in.args[0])}
		}
	}
	if in.cmd == "env" && len(in.args)%3 != 0 {
		return &SyntaxError{Line: in.line, Msg: "ENV: expected KEY=VALUE pairs"}
	}
	return nil
}

func errLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		if l := le.Locations[0][0].Start.Line; l > 0 {
			return l
		}
	}
	return 1
}

func errMsg(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) {
		if u := le.Unwrap(); u != nil {
			return u.Error()
		}
	}
	return err.Error()
}

// env is a shell.EnvGetter over a map.
type env map[string]string

func (e env) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e env) Keys() []string {
	ks := make([]string, 0, len(e))
	for k := range e {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// expand substitutes $VAR/${VAR} from vars the way buildkit would; words it
// cannot process are returned unchanged.
func (df *dockerfile) expand(word string, vars map[string]string) string {
	out, _, err := df.expandUnmatched(word, vars)
	if err != nil {
		return word
	}
	return out
}

func (df *dockerfile) expandUnmatched(word string, vars map[string]string) (string, []string, error) {
	esc := df.escape
	if esc == 0 {
		esc = '\\'
	}
	res, err := shell.NewLex(esc).ProcessWordWithMatches(word, env(vars))
	if err != nil {
		return "", nil, err
	}
	var unmatched []string
	for k := range res.Unmatched {
		unmatched = append(unmatched, k)
	}
	sort.Strings(unmatched)
	return res.Result, unmatched, nil
}

// stageByName finds an earlier stage called name (case-insensitive) or by index.
func (df *dockerfile) stageByName(name string, before int) *stage {
	name = strings.ToLower(name)
	for _, st := range df.stages[:before] {
		if st.name != "" && st.name == name {
			return st
		}
		if fmt.Sprint(st.index) == name {
			return st
		}
	}
	return nil
}

// stageVars returns the ARG/ENV values visible at the end of a stage's
// instructions up to (not including) index upto, starting from the meta ARGs
// the stage re-declares.
func (df *dockerfile) stageVars(st *stage, upto int) map[string]string {
	vars := map[string]string{}
	if base := df.stageByName(df.expand(st.base, df.metaArgs), st.index); base != nil {
		for k, v := range df.stageVars(base, len(base.instrs)) {
			vars[k] = v
		}
	}
	for _, in := range st.instrs[:upto] {
		switch in.cmd {
		case "arg":
			for _, kv := range in.args {
				k, v, ok := strings.Cut(kv, "=")
				if ok {
					vars[k] = df.expand(v, vars)
				} else if mv, ok := df.metaArgs[k]; ok {
					vars[k] = mv
				}
			}
		case "env":
			for i := 0; i+1 < len(in.args); i += 3 {
				vars[in.args[i]] = df.expand(in.args[i+1], vars)
			}
		}
	}
	return vars
}
