package pipeline

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nektos/act/pkg/exprparser"
)

// interpolate replaces every ${{ expr }} of s with its value. An
// expression that fails to evaluate is replaced by an empty string and
// logged: actionlint has already checked the syntax before the run.
func (jc *jobCtx) interpolate(in exprparser.Interpreter, s string) string {
	if !strings.Contains(s, "${{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		expr := strings.TrimSpace(s[i+3 : i+j])
		v, err := in.Evaluate(expr, exprparser.DefaultStatusCheckNone)
		if err != nil {
			jc.r.log.Warn("expression", "expr", expr, "err", err)
		} else {
			b.WriteString(exprString(v))
		}
		s = s[i+j+2:]
	}
}

// evalIf evaluates an if: condition (with or without ${{ }}); an empty
// condition is success().
func evalIf(in exprparser.Interpreter, cond string) (bool, error) {
	cond = strings.TrimSpace(cond)
	if strings.HasPrefix(cond, "${{") && strings.HasSuffix(cond, "}}") && strings.Count(cond, "${{") == 1 {
		cond = strings.TrimSpace(cond[3 : len(cond)-2])
	}
	v, err := in.Evaluate(cond, exprparser.DefaultStatusCheckSuccess)
	if err != nil {
		return false, fmt.Errorf("%q: %w", cond, err)
	}
	return truthy(v), nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	case int:
		return x != 0
	}
	return true
}

// exprString renders a value as GitHub does in ${{ }}.
func exprString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// hashFiles hashes the repository files (as checked out) matching the
// patterns; '!' patterns exclude. An empty match is the empty string.
func (jc *jobCtx) hashFiles(args []reflect.Value) (any, error) {
	var inc, exc []*regexp.Regexp
	for _, a := range args {
		p := fmt.Sprint(a.Interface())
		neg := strings.HasPrefix(p, "!")
		re, err := globRegexp(strings.TrimPrefix(p, "!"))
		if err != nil {
			return nil, err
		}
		if neg {
			exc = append(exc, re)
		} else {
			inc = append(inc, re)
		}
	}
	h := sha256.New()
	n := 0
	for _, p := range slices.Sorted(maps.Keys(jc.repo.Files)) {
		if !slices.ContainsFunc(inc, func(r *regexp.Regexp) bool { return r.MatchString(p) }) ||
			slices.ContainsFunc(exc, func(r *regexp.Regexp) bool { return r.MatchString(p) }) {
			continue
		}
		s := sha256.Sum256(jc.repo.Files[p].Content)
		h.Write(s[:])
		n++
	}
	if n == 0 {
		return "", nil
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// globRegexp turns a glob (**, *, ?) relative to the workspace into an
// anchored regexp over slash paths.
func globRegexp(g string) (*regexp.Regexp, error) {
	g = strings.TrimPrefix(strings.TrimPrefix(g, "${{ github.workspace }}/"), "./")
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case strings.HasPrefix(g[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(g[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// fileTar is a tar with one file owned by the runner user.
func fileTar(name string, content []byte, mode int64) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(content)), Uid: runnerUID, Gid: runnerUID, ModTime: time.Now()})
	_, _ = tw.Write(content)
	_ = tw.Close()
	return &buf
}
