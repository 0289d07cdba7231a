package challenges

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// LibDir is the directory of helper files shipped with a challenge's check
// scripts: every file below it is copied next to the checks wherever they
// run (the grader's probe), so a check can source
// "$(dirname "$0")/../lib/x.sh".
const LibDir = "lib"

// MaxLibFiles caps the files of lib/.
const MaxLibFiles = 100

// LibFiles returns the files of lib/ by their path relative to the
// challenge directory ("lib/common.sh"), sorted.
func (c *Challenge) LibFiles() []NamedFile {
	var out []NamedFile
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range c.Files {
			if strings.HasPrefix(k, LibDir+"/") && !yield(k) {
				return
			}
		}
	}) {
		out = append(out, NamedFile{Path: name, Content: c.Files[name]})
	}
	return out
}

// loadLib reads every regular file below lib/ into l.files (so they are
// part of the version). Links and special files are problems: what is
// copied must be what was read.
func (l *loader) loadLib() {
	root := filepath.Join(l.abs, LibDir)
	st, err := os.Lstat(root)
	if err != nil || !st.IsDir() {
		return
	}
	n := 0
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(l.abs, p)
		clean := filepath.ToSlash(rel)
		if err != nil {
			l.d.probs = append(l.d.probs, Problem{File: l.display(clean), Msg: fmt.Sprintf("cannot read: %v", err)})
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			l.d.probs = append(l.d.probs, Problem{File: l.display(clean), Msg: "lib/ may hold only regular files and directories (no links or special files)"})
			return nil
		}
		if n++; n > MaxLibFiles {
			l.d.probs = append(l.d.probs, Problem{File: l.display(clean), Msg: fmt.Sprintf("lib/ holds more than %d files", MaxLibFiles)})
			return filepath.SkipAll
		}
		info, err := d.Info()
		if err == nil && info.Size() > MaxFileSize {
			l.d.probs = append(l.d.probs, Problem{File: l.display(clean), Msg: fmt.Sprintf("%d bytes, more than the %d allowed", info.Size(), MaxFileSize)})
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			l.d.probs = append(l.d.probs, Problem{File: l.display(clean), Msg: fmt.Sprintf("cannot read: %v", err)})
			return nil
		}
		l.files[clean] = b
		return nil
	})
}

// checkSources reports the files a check script (or a lib/ file) sources
// that will not exist where checks run: checks run as
// /opsdojo/checks/<name> with /tmp as working directory, next to a copy of
// lib/ only. A sourced path that cannot be worked out statically (built
// from other variables) is not judged.
func (l *loader) checkSources(s *Spec) {
	var scripts []string
	for _, c := range s.Checks {
		if c.Script != nil && c.Script.Run != "" {
			if clean := cleanRel(c.Script.Run); l.files[clean] != nil && !slices.Contains(scripts, clean) {
				scripts = append(scripts, clean)
			}
		}
	}
	for name := range l.files {
		if strings.HasPrefix(name, LibDir+"/") && strings.HasSuffix(name, ".sh") {
			scripts = append(scripts, name)
		}
	}
	slices.Sort(scripts)
	for _, name := range scripts {
		f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(l.files[name]), name)
		if err != nil {
			continue // bash reports it when the check runs
		}
		syntax.Walk(f, func(node syntax.Node) bool {
			call, ok := node.(*syntax.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			if cmd := call.Args[0].Lit(); cmd != "." && cmd != "source" {
				return true
			}
			arg := call.Args[1]
			if msg := l.sourceProblem(name, arg); msg != "" {
				l.d.probs = append(l.d.probs, Problem{File: l.display(name), Line: int(arg.Pos().Line()), Col: int(arg.Pos().Col()), Msg: msg})
			}
			return true
		})
	}
}

// scriptDirMark stands for the directory of the running script in a
// resolved sourced path.
const scriptDirMark = "\x00dir"

// sourceProblem says why the file sourced by word in script name will not
// exist at run time, or "".
func (l *loader) sourceProblem(name string, word *syntax.Word) string {
	p, ok := resolveWord(word.Parts)
	if !ok {
		return ""
	}
	shown := strings.ReplaceAll(p, scriptDirMark, "$(dirname \"$0\")")
	var rel string
	switch {
	case strings.HasPrefix(p, scriptDirMark):
		rel = path.Join(path.Dir(name), strings.TrimPrefix(p, scriptDirMark))
	case strings.HasPrefix(p, "/"):
		return "" // a file of the probe itself
	default:
		return fmt.Sprintf("sources \"%s\" relative to the working directory, which is /tmp when the check runs: write \"$(dirname \"$0\")/../%s\" (files in %s/ are copied next to the checks)", shown, strings.TrimPrefix(path.Clean(p), "./"), LibDir)
	}
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Sprintf("sources \"%s\", outside the challenge directory: it will not exist when the check runs", shown)
	}
	if !strings.HasPrefix(rel, LibDir+"/") {
		return fmt.Sprintf("sources \"%s\" (%s), which will not exist when the check runs: only %s/ is copied with the checks; move it to %s/ and source \"$(dirname \"$0\")/../%s/%s\"", shown, rel, LibDir, LibDir, LibDir, path.Base(rel))
	}
	if _, ok := l.files[rel]; !ok {
		return fmt.Sprintf("sources \"%s\" but %s does not exist", shown, rel)
	}
	return ""
}

// resolveWord turns a sourced word into a path when it is made only of
// literals and the script's own directory ($(dirname "$0"),
// $(dirname "${BASH_SOURCE[0]}"), ${0%/*}, ${BASH_SOURCE%/*}).
func resolveWord(parts []syntax.WordPart) (string, bool) {
	var b strings.Builder
	for _, part := range parts {
		switch x := part.(type) {
		case *syntax.Lit:
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			s, ok := resolveWord(x.Parts)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		case *syntax.CmdSubst:
			if !isDirnameOfScript(x) {
				return "", false
			}
			b.WriteString(scriptDirMark)
		case *syntax.ParamExp:
			if !isScriptParam(x) || x.Exp == nil || x.Exp.Op != syntax.RemSmallSuffix || x.Exp.Word == nil || x.Exp.Word.Lit() != "/*" {
				return "", false
			}
			b.WriteString(scriptDirMark)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// isScriptParam: $0, $BASH_SOURCE or ${BASH_SOURCE[0]}.
func isScriptParam(p *syntax.ParamExp) bool {
	switch p.Param.Value {
	case "0":
		return true
	case "BASH_SOURCE":
		if p.Index == nil {
			return true
		}
		w, ok := p.Index.(*syntax.Word)
		return ok && w.Lit() == "0"
	}
	return false
}

// isDirnameOfScript: $(dirname "$0") and its BASH_SOURCE forms.
func isDirnameOfScript(cs *syntax.CmdSubst) bool {
	if len(cs.Stmts) != 1 {
		return false
	}
	call, ok := cs.Stmts[0].Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) != 2 || call.Args[0].Lit() != "dirname" {
		return false
	}
	parts := call.Args[1].Parts
	if len(parts) == 1 {
		if dq, ok := parts[0].(*syntax.DblQuoted); ok {
			parts = dq.Parts
		}
	}
	if len(parts) != 1 {
		return false
	}
	pe, ok := parts[0].(*syntax.ParamExp)
	return ok && pe.Exp == nil && isScriptParam(pe)
}
