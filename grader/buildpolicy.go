package grader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// The build policy: a candidate's Dockerfile is built by the daemon's
// classic builder, which fetches `ADD <url>` and pulls missing `FROM` and
// `COPY --from` images itself, on the host's network, whatever the build's
// NetworkMode says. So every Dockerfile is checked before the daemon sees
// it, and whatever could make the daemon reach a network is refused with
// the line it is on: remote ADD sources (any scheme, git and scp-like
// URLs, whatever ARG or ENV they come from), ADD --checksum and
// --keep-git-dir, COPY --from an image that is neither an earlier stage nor
// an allowed local image, RUN flags (--mount, --network, …), ONBUILD,
// FROM --platform, heredocs, and FROM images that are not both allowed and
// present locally. Variables are expanded as the builder does (buildkit's
// shell lexer, ENV over ARG, meta ARGs for FROM, base image ENV); a
// reference to a variable the builder would not know is refused (fail
// closed).
//
// The daemon then gets the Dockerfile as checked, re-rendered: one line per
// instruction at its original line number, continuations joined and
// comments dropped, so that the daemon's own (older) parser cannot read
// something other than what was checked. Docker 20.10's parser, for
// instance, knows no heredocs: the lines of `RUN <<EOF … EOF` are
// instructions to it.

// DefaultBuildBaseImages are the images candidate Dockerfiles may build
// FROM (and COPY --from) besides their own stages and `scratch`: the bases
// opsdojo builds stand-ins for (`opsdojo images build --offline`) and the
// library's docker_build challenges name. Patterns as in path.Match,
// compared with the familiar reference with its tag (python:3.11-slim).
var DefaultBuildBaseImages = []string{
	"debian:bookworm-slim", "debian:bookworm", "debian:12-slim", "debian:12",
	"python:3.11-slim", "golang:*-bookworm",
}

// Limits of the policy check.
const (
	maxDockerfileBytes = 1 << 20
	maxBuildStages     = 64
)

// BuildPolicy decides which Dockerfiles the grader hands to the daemon.
type BuildPolicy struct {
	// BaseImages are the patterns of images FROM and COPY --from may name
	// (besides earlier stages and scratch); nil means DefaultBuildBaseImages.
	BaseImages []string
}

// LocalImage is what the policy needs to know of a local image.
type LocalImage struct {
	Env     []string // KEY=VALUE, as in the image config
	OnBuild []string // the image's ONBUILD triggers
}

// ImageLookup finds an image in the daemon's local store; found is false
// when it is not there. It must never pull.
type ImageLookup func(ctx context.Context, ref string) (img LocalImage, found bool, err error)

// BuildRefusal is a Dockerfile the grader will not build, with the line
// (1-based; 0 when the problem is the whole file) and the reason, worded
// for the candidate.
type BuildRefusal struct {
	Line int
	Msg  string
}

func (e *BuildRefusal) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// CheckedDockerfile is a Dockerfile the policy accepted.
type CheckedDockerfile struct {
	// Dockerfile is what to give the daemon: every instruction on its
	// original line, continuations joined, comments and blank lines
	// dropped.
	Dockerfile []byte
	// StepLines are the lines of the daemon's build steps: the classic
	// builder's "Step N/M" is StepLines[N-1].
	StepLines []int
}

func (p BuildPolicy) baseImages() []string {
	if p.BaseImages == nil {
		return DefaultBuildBaseImages
	}
	return p.BaseImages
}

// Allowed reports whether ref (as a Dockerfile names it) is an allowed
// base image, and its familiar form with tag (python:3.11-slim).
func (p BuildPolicy) Allowed(ref string) (string, bool) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", false
	}
	fam := reference.FamiliarString(reference.TagNameOnly(named))
	for _, pat := range p.baseImages() {
		if ok, _ := path.Match(pat, fam); ok {
			return fam, true
		}
	}
	return fam, false
}

func (p BuildPolicy) available() string {
	return strings.Join(append(slices.Clone(p.baseImages()), "scratch"), ", ")
}

var (
	// remoteSchemeRe: any URL scheme (http, HTTPS, ftp, git, ssh, s3, …).
	remoteSchemeRe = regexp.MustCompile(`(?i)^[a-z][a-z0-9+.-]*://`)
	// scpLikeRe: git's user@host:path form.
	scpLikeRe = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.\[\]:-]+:`)
)

// isRemoteSource reports whether an (expanded) ADD or COPY source would
// be, to some builder, something to fetch rather than a file of the build
// context.
func isRemoteSource(s string) bool {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	return remoteSchemeRe.MatchString(s) || scpLikeRe.MatchString(s) ||
		strings.HasPrefix(l, "git@") || strings.HasPrefix(l, "github.com/") ||
		strings.Contains(l, "://")
}

// vars are the variables in scope at an instruction: set (with a value)
// or only declared (an ARG without a value: the builder leaves it unset).
type vars struct {
	vals     map[string]string
	declared map[string]bool
}

func newVars() *vars { return &vars{vals: map[string]string{}, declared: map[string]bool{}} }

func (v *vars) set(k, val string) { v.vals[k] = val; v.declared[k] = true }
func (v *vars) declare(k string)  { v.declared[k] = true }

func (v *vars) clone() *vars {
	c := newVars()
	for k, x := range v.vals {
		c.vals[k] = x
	}
	for k := range v.declared {
		c.declared[k] = true
	}
	return c
}

// scope is what an instruction's words are expanded with: the stage's
// ENV (the base image's, then the stage's own) over its ARGs.
type scope struct{ env, args *vars }

func (s scope) Get(k string) (string, bool) {
	if v, ok := s.env.vals[k]; ok {
		return v, true
	}
	v, ok := s.args.vals[k]
	return v, ok
}

func (s scope) Keys() []string {
	var ks []string
	for k := range s.env.vals {
		ks = append(ks, k)
	}
	for k := range s.args.vals {
		if _, dup := s.env.vals[k]; !dup {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func (s scope) known(k string) bool { return s.env.declared[k] || s.args.declared[k] }

// builtinArgs are build arguments a builder may set on its own (platform
// arguments, proxies): an ARG's default does not say their value.
var builtinArgs = map[string]bool{
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true,
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true, "TARGETSTAGE": true,
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true, "ALL_PROXY": true, "all_proxy": true,
}

// checker carries one Check.
type checker struct {
	p      BuildPolicy
	ctx    context.Context
	lookup ImageLookup
	lex    *shell.Lex
}

func refuse(line int, format string, args ...any) error {
	return &BuildRefusal{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Check parses src as the daemon will and refuses whatever could make the
// daemon reach a network or an image it would have to pull; see the
// package comment above. A refusal is a *BuildRefusal; any other error is
// the lookup's (the daemon could not be asked).
func (p BuildPolicy) Check(ctx context.Context, src []byte, lookup ImageLookup) (CheckedDockerfile, error) {
	if len(src) > maxDockerfileBytes {
		return CheckedDockerfile{}, refuse(0, "the Dockerfile is %s, over the limit of %s", humanBytes(int64(len(src))), humanBytes(maxDockerfileBytes))
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return CheckedDockerfile{}, refuse(locLine(err), "the Dockerfile does not parse: %s", locMsg(err))
	}
	for _, n := range res.AST.Children {
		if len(n.Heredocs) > 0 {
			return CheckedDockerfile{}, refuse(n.StartLine, "%s with a heredoc (<<%s): heredocs are not supported by the grader's builder; put the content in a file of the build context and COPY it",
				strings.ToUpper(n.Value), n.Heredocs[0].Name)
		}
	}
	lint := linter.New(&linter.Config{SkipAll: true})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return CheckedDockerfile{}, refuse(locLine(err), "%s", locMsg(err))
	}
	if len(stages) > maxBuildStages {
		return CheckedDockerfile{}, refuse(0, "the Dockerfile has %d stages, more than the %d the grader builds", len(stages), maxBuildStages)
	}
	c := &checker{p: p, ctx: ctx, lookup: lookup, lex: shell.NewLex(res.EscapeToken)}
	if err := c.stages(stages, metaArgs); err != nil {
		return CheckedDockerfile{}, err
	}
	return render(res), nil
}

// render writes every instruction's joined line at its original line.
func render(res *parser.Result) CheckedDockerfile {
	var b strings.Builder
	line := 1
	if res.EscapeToken != '\\' {
		fmt.Fprintf(&b, "# escape=%c\n", res.EscapeToken)
		line = 2
	}
	out := CheckedDockerfile{}
	for _, n := range res.AST.Children {
		for ; line < n.StartLine; line++ {
			b.WriteByte('\n')
		}
		b.WriteString(strings.TrimRight(n.Original, "\r\n"))
		b.WriteByte('\n')
		out.StepLines = append(out.StepLines, n.StartLine)
		line++
	}
	out.Dockerfile = []byte(b.String())
	return out
}

func cmdLine(c instructions.Command) int {
	if loc := c.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

// expand expands word as the builder would, refusing a reference to a
// variable that is neither set nor declared in sc.
func (c *checker) expand(line int, what, word string, sc scope) (string, error) {
	r, err := c.lex.ProcessWordWithMatches(word, sc)
	if err != nil {
		return "", refuse(line, "%s %q: %v", what, word, err)
	}
	var unknown, builtin []string
	for k := range r.Unmatched {
		if !sc.known(k) {
			unknown = append(unknown, "$"+k)
		}
	}
	for _, set := range []map[string]struct{}{r.Matched, r.Unmatched} {
		for k := range set {
			if _, fromEnv := sc.env.vals[k]; builtinArgs[k] && !fromEnv {
				builtin = append(builtin, "$"+k)
			}
		}
	}
	if len(builtin) > 0 {
		sort.Strings(builtin)
		return "", refuse(line, "%s %q uses %s, whose value the builder may supply itself (whatever the ARG says), so the grader cannot check it; write the value out", what, word, strings.Join(builtin, ", "))
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return "", refuse(line, "%s %q uses %s, which is not defined at this point (declare it with ARG or ENV first)", what, word, strings.Join(unknown, ", "))
	}
	return r.Result, nil
}

func (c *checker) stages(stages []instructions.Stage, metaArgs []instructions.ArgCommand) error {
	meta := newVars()
	metaScope := scope{env: newVars(), args: meta}
	for _, a := range metaArgs {
		line := cmdLine(&a)
		for _, kv := range a.Args {
			if strings.ContainsAny(kv.Key, "$") {
				return refuse(line, "ARG name %q must be a plain name", kv.Key)
			}
			if kv.Value == nil {
				meta.declare(kv.Key)
				continue
			}
			v, err := c.expand(line, "ARG", *kv.Value, metaScope)
			if err != nil {
				return err
			}
			meta.set(kv.Key, v)
		}
	}
	type done struct {
		name string // lower case
		env  *vars
	}
	var built []done
	stageIndex := func(name string) int {
		for i, d := range built {
			if d.name != "" && strings.EqualFold(d.name, name) {
				return i
			}
		}
		return -1
	}
	for _, st := range stages {
		line := 0
		if len(st.Location) > 0 {
			line = st.Location[0].Start.Line
		}
		if st.Platform != "" {
			return refuse(line, "FROM --platform is not supported: the grader builds for its own platform only")
		}
		base, err := c.expand(line, "FROM", st.BaseName, metaScope)
		if err != nil {
			return err
		}
		env := newVars()
		switch i := stageIndex(base); {
		case i >= 0:
			env = built[i].env.clone()
		case base == "scratch":
		default:
			img, err := c.image(line, "FROM", base)
			if err != nil {
				return err
			}
			for _, kv := range img.Env {
				k, v, _ := strings.Cut(kv, "=")
				env.set(k, v)
			}
		}
		args := newVars()
		sc := scope{env: env, args: args}
		for _, cmd := range st.Commands {
			if err := c.command(cmd, sc, meta, len(built), stageIndex); err != nil {
				return err
			}
		}
		built = append(built, done{name: st.Name, env: env})
	}
	return nil
}

func (c *checker) command(cmd instructions.Command, sc scope, meta *vars, current int, stageIndex func(string) int) error {
	line := cmdLine(cmd)
	switch x := cmd.(type) {
	case *instructions.EnvCommand:
		// All values are expanded with the scope before the instruction.
		vals := make([]string, len(x.Env))
		for i, kv := range x.Env {
			if strings.ContainsAny(kv.Key, "$") {
				return refuse(line, "ENV name %q must be a plain name", kv.Key)
			}
			v, err := c.expand(line, "ENV", kv.Value, sc)
			if err != nil {
				return err
			}
			vals[i] = v
		}
		for i, kv := range x.Env {
			sc.env.set(kv.Key, vals[i])
		}
	case *instructions.ArgCommand:
		for _, kv := range x.Args {
			if strings.ContainsAny(kv.Key, "$") {
				return refuse(line, "ARG name %q must be a plain name", kv.Key)
			}
			switch {
			case kv.Value != nil:
				v, err := c.expand(line, "ARG", *kv.Value, sc)
				if err != nil {
					return err
				}
				sc.args.set(kv.Key, v)
			case hasKey(meta.vals, kv.Key):
				sc.args.set(kv.Key, meta.vals[kv.Key]) // an ARG re-declared in a stage gets the global default
			default:
				sc.args.declare(kv.Key)
			}
		}
	case *instructions.AddCommand:
		if x.Checksum != "" {
			return refuse(line, "ADD --checksum is not available: it exists for remote sources, and the build has no network")
		}
		if x.KeepGitDir != nil {
			return refuse(line, "ADD --keep-git-dir is not available: it exists for git sources, and the build has no network")
		}
		return c.sources(line, "ADD", x.SourcesAndDest, sc)
	case *instructions.CopyCommand:
		if x.From != "" {
			from, err := c.expand(line, "COPY --from", x.From, sc)
			if err != nil {
				return err
			}
			if err := c.copyFrom(line, from, current, stageIndex); err != nil {
				return err
			}
		}
		return c.sources(line, "COPY", x.SourcesAndDest, sc)
	case *instructions.RunCommand:
		if len(x.FlagsUsed) > 0 {
			return refuse(line, "RUN --%s is not available in the grader's builder (the build has no network, mounts or extra privileges)", x.FlagsUsed[0])
		}
	case *instructions.OnbuildCommand:
		return refuse(line, "ONBUILD is not allowed in a graded Dockerfile")
	}
	return nil
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func (c *checker) sources(line int, instr string, sd instructions.SourcesAndDest, sc scope) error {
	if len(sd.SourceContents) > 0 {
		return refuse(line, "%s with a heredoc is not supported by the grader's builder", instr)
	}
	for _, src := range sd.SourcePaths {
		v, err := c.expand(line, instr+" source", src, sc)
		if err != nil {
			return err
		}
		// The word as written too: a lexer of another version may expand
		// it otherwise.
		if isRemoteSource(v) || strings.Contains(src, "://") {
			shown := v
			if shown != src {
				shown = fmt.Sprintf("%s (from %s)", v, src)
			}
			return refuse(line, "%s %s: remote sources are not allowed, the build has no network; put the file in the build context and COPY it", instr, shown)
		}
	}
	return nil
}

// copyFrom allows an earlier stage (by name or index) or an allowed local
// image.
func (c *checker) copyFrom(line int, from string, current int, stageIndex func(string) int) error {
	if stageIndex(from) >= 0 {
		return nil
	}
	if n, err := strconv.Atoi(from); err == nil {
		if n >= 0 && n < current {
			return nil
		}
		return refuse(line, "COPY --from=%s: there is no earlier build stage %d", from, n)
	}
	_, err := c.image(line, "COPY --from", from)
	return err
}

// image checks an image named by FROM or COPY --from: allowed, present
// locally (the daemon would pull it otherwise), without ONBUILD triggers.
func (c *checker) image(line int, what, ref string) (LocalImage, error) {
	fam, ok := c.p.Allowed(ref)
	if !ok {
		return LocalImage{}, refuse(line, "%s %s: only these base images are available offline: %s", what, ref, c.p.available())
	}
	img, found, err := c.lookup(c.ctx, fam)
	if err != nil {
		return LocalImage{}, fmt.Errorf("look up base image %s: %w", fam, err)
	}
	if !found {
		return LocalImage{}, refuse(line, "%s %s: this image is not on the grader's host, and the grader never pulls images; available offline: %s", what, ref, c.p.available())
	}
	if len(img.OnBuild) > 0 {
		return LocalImage{}, refuse(line, "%s %s: the image has ONBUILD triggers, which the grader does not run", what, ref)
	}
	return img, nil
}

func locLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return le.Locations[0][0].Start.Line
	}
	return 0
}

func locMsg(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) {
		if u := le.Unwrap(); u != nil {
			return u.Error()
		}
	}
	return err.Error()
}
