package grader

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// fakeImages is a local image store: present images by familiar name.
func fakeImages(present map[string]LocalImage) ImageLookup {
	return func(_ context.Context, ref string) (LocalImage, bool, error) {
		img, ok := present[ref]
		return img, ok, nil
	}
}

var testImages = map[string]LocalImage{
	"debian:bookworm-slim": {Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	"python:3.11-slim":     {Env: []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}},
	"golang:1.26-bookworm": {Env: []string{"PATH=/usr/local/go/bin:/usr/bin:/bin", "GOPATH=/go"}},
	// present but not allowed: the daemon would use it, the policy must not
	"opsdojo/probe:latest": {},
	"docker:dind":          {},
	// allowed by an operator pattern in one case below, with a trigger
	"acme/onbuild:1": {OnBuild: []string{"ADD http://169.254.169.254/ /m"}},
}

func TestBuildPolicyRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src      string
		line     int
		contains string
	}{
		{"remote ADD", "FROM debian:bookworm-slim\nADD http://127.0.0.1:8080/secret /s\n", 2, "remote sources are not allowed"},
		{"https ADD", "FROM debian:bookworm-slim\nADD https://example.com/x /x\n", 2, "remote"},
		{"uppercase scheme", "FROM debian:bookworm-slim\nADD HTTP://127.0.0.1:8080/secret /s\n", 2, "remote"},
		{"ftp", "FROM debian:bookworm-slim\nADD ftp://10.0.0.1/f /f\n", 2, "remote"},
		{"git scheme", "FROM debian:bookworm-slim\nADD git://example.com/r.git /r\n", 2, "remote"},
		{"git scp-like", "FROM debian:bookworm-slim\nADD git@github.com:moby/moby.git /r\n", 2, "remote"},
		{"github shorthand", "FROM debian:bookworm-slim\nADD github.com/moby/moby /r\n", 2, "remote"},
		{"one of several sources", "FROM debian:bookworm-slim\nADD a.txt http://127.0.0.1:1/s b.txt /d/\n", 2, "remote"},
		{"JSON form", "FROM debian:bookworm-slim\nADD [\"http://127.0.0.1:1/s\", \"/s\"]\n", 2, "remote"},
		{"ARG-substituted URL", "FROM debian:bookworm-slim\nARG U=http://127.0.0.1:8080/secret\nADD $U /s\n", 3, "(from $U)"},
		{"braced ARG pieces", "FROM debian:bookworm-slim\nARG S=http\nARG H=127.0.0.1\nADD ${S}://${H}:8080/secret /s\n", 4, "remote"},
		{"meta ARG re-declared", "ARG U=http://127.0.0.1:8080/secret\nFROM debian:bookworm-slim\nARG U\nADD $U /s\n", 4, "remote"},
		{"ENV-substituted URL", "FROM debian:bookworm-slim\nENV U=http://127.0.0.1:8080/secret\nADD ${U} /s\n", 3, "remote"},
		{"default of an unset ARG", "FROM debian:bookworm-slim\nARG U\nADD ${U:-http://127.0.0.1:8080/secret} /s\n", 3, "remote"},
		{"ENV from an earlier stage", "FROM debian:bookworm-slim AS a\nENV U=http://127.0.0.1:8080/secret\nFROM a\nADD $U /s\n", 4, "remote"},
		{"unknown variable", "FROM debian:bookworm-slim\nADD $NOPE /s\n", 2, "$NOPE"},
		{"ARG from another stage is gone", "FROM debian:bookworm-slim AS a\nARG U=x\nFROM debian:bookworm-slim\nADD $U /s\n", 4, "$U"},
		{"URL in an unused default", "FROM debian:bookworm-slim\nARG X=a.txt\nADD ${X:-http://127.0.0.1:8080/secret} /s\n", 3, "remote"},
		{"builtin platform ARG", "FROM debian:bookworm-slim\nARG TARGETARCH\nADD ${TARGETARCH:+http://127.0.0.1:8080/secret} /s\n", 3, "$TARGETARCH"},
		{"builtin ARG with a default", "FROM debian:bookworm-slim\nARG HTTP_PROXY=x\nENV P=${HTTP_PROXY}\n", 3, "$HTTP_PROXY"},
		{"positional parameter", "FROM debian:bookworm-slim\nADD $1 /s\n", 2, "$1"},
		{"COPY from URL", "FROM debian:bookworm-slim\nCOPY http://127.0.0.1:1/s /s\n", 2, "remote"},
		{"ADD --checksum", "FROM debian:bookworm-slim\nADD --checksum=sha256:0123 a.txt /a\n", 2, "--checksum"},
		{"ADD --keep-git-dir", "FROM debian:bookworm-slim\nADD --keep-git-dir=true a /a\n", 2, "--keep-git-dir"},
		{"COPY --from remote image", "FROM debian:bookworm-slim\nCOPY --from=evil.example/x:1 /etc/passwd /p\n", 2, "COPY --from evil.example/x:1: only these base images"},
		{"COPY --from local non-allowed image", "FROM debian:bookworm-slim\nCOPY --from=opsdojo/probe /usr/local/bin/sbx-path /x\n", 2, "only these base images"},
		{"COPY --from later stage", "FROM debian:bookworm-slim AS a\nCOPY --from=b /x /x\nFROM debian:bookworm-slim AS b\n", 2, "COPY --from b"},
		{"COPY --from current index", "FROM debian:bookworm-slim\nCOPY --from=0 /x /x\n", 2, "no earlier build stage 0"},
		{"COPY --from ARG image", "FROM debian:bookworm-slim\nARG I=docker:dind\nCOPY --from=$I / /d\n", 3, "only these base images"},
		{"RUN --mount", "FROM debian:bookworm-slim\nRUN --mount=type=cache,target=/c true\n", 2, "RUN --mount"},
		{"RUN --mount remote", "FROM debian:bookworm-slim\nRUN --mount=type=bind,from=evil.example/x,target=/x cat /x/s\n", 2, "RUN --mount"},
		{"RUN --network", "FROM debian:bookworm-slim\nRUN --network=host curl http://127.0.0.1:8080/\n", 2, "RUN --network"},
		{"ONBUILD", "FROM debian:bookworm-slim\nONBUILD ADD http://127.0.0.1:8080/secret /s\n", 2, "ONBUILD"},
		{"FROM unknown image", "FROM debian:bookworm-slim\nRUN true\nFROM evil.example/x\n", 3, "FROM evil.example/x: only these base images are available offline: debian:bookworm-slim"},
		{"FROM dind", "FROM docker:dind\n", 1, "only these base images"},
		{"FROM image ID", "FROM 0123456789ab\n", 1, "only these base images"},
		{"FROM by digest", "FROM python@sha256:0000000000000000000000000000000000000000000000000000000000000000\n", 1, "only these base images"},
		{"FROM allowed but absent", "FROM golang:1.22-bookworm\n", 1, "never pulls"},
		{"FROM meta ARG", "ARG B=evil.example/x\nFROM $B\n", 2, "FROM evil.example/x"},
		{"FROM unknown variable", "FROM ${NOPE}debian:bookworm-slim\n", 1, "$NOPE"},
		{"FROM --platform", "FROM --platform=linux/arm64 debian:bookworm-slim\n", 1, "--platform"},
		{"FROM later stage name", "FROM b\nFROM debian:bookworm-slim AS b\n", 1, "FROM b: only"},
		{"heredoc hides an ADD from old parsers", "FROM debian:bookworm-slim\nRUN <<CMD\nADD http://127.0.0.1:1/secret /s\nCMD\n", 2, "heredoc"},
		{"COPY heredoc", "FROM debian:bookworm-slim\nCOPY <<EOF /x\nhi\nEOF\n", 2, "heredoc"},
		{"unknown instruction", "FROM debian:bookworm-slim\nFETCH http://x /\n", 2, "unknown instruction"},
		{"no FROM", "ADD http://127.0.0.1/ /\n", 1, ""},
		{"empty", "", 0, "does not parse"},
		{"too big", "FROM debian:bookworm-slim\n#" + strings.Repeat("x", maxDockerfileBytes) + "\n", 0, "over the limit"},
		{"continuation hides nothing", "FROM debian:bookworm-slim\nADD a.txt \\\n  # comment\n  http://127.0.0.1:1/s \\\n  /d/\n", 2, "remote"},
		{"escape directive", "# escape=`\nFROM debian:bookworm-slim\nADD `\n  http://127.0.0.1:1/s /s\n", 3, "remote"},
	}
	p := BuildPolicy{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Check(context.Background(), []byte(tt.src), fakeImages(testImages))
			var r *BuildRefusal
			if !errors.As(err, &r) {
				t.Fatalf("Check accepted (or failed without a refusal: %v):\n%s", err, tt.src)
			}
			if r.Line != tt.line || !strings.Contains(r.Msg, tt.contains) {
				t.Errorf("refusal %q (line %d), want line %d containing %q", r.Msg, r.Line, tt.line, tt.contains)
			}
		})
	}
}

func TestBuildPolicyAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src string }{
		{"simple", "FROM python:3.11-slim\nCOPY app.py /app/\nUSER 1000\nCMD [\"python3\", \"/app/app.py\"]\n"},
		{"multi-stage go", "FROM golang:1.26-bookworm AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\nUSER 65532:65532\nENTRYPOINT [\"/app\"]\n"},
		{"COPY --from index", "FROM golang:1.26-bookworm\nRUN true\nFROM debian:bookworm-slim\nCOPY --from=0 /usr/local/go/VERSION /v\n"},
		{"COPY --from allowed image", "FROM debian:bookworm-slim\nCOPY --from=python:3.11-slim /usr/bin/python3 /p\n"},
		{"stage name case", "FROM debian:bookworm-slim AS Build\nFROM build\n"},
		{"variables", "ARG BASE=debian:bookworm-slim\nFROM $BASE\nARG DIR=src\nENV APP=/srv/app\nCOPY ${DIR}/ $APP/\n"},
		{"declared but unset", "FROM debian:bookworm-slim\nARG X\nCOPY a$X /x\n"},
		{"base image ENV", "FROM golang:1.26-bookworm\nCOPY go.mod $GOPATH/src/\n"},
		{"local ADD", "FROM debian:bookworm-slim\nADD --chown=1000:1000 files.tar.gz /srv/\n"},
		{"URL in RUN and LABEL are not fetched by the daemon", "FROM debian:bookworm-slim\nLABEL org.opencontainers.image.source=\"https://example.com/r\"\nRUN echo http://example.com\n"},
		{"builtin name set by ENV", "FROM debian:bookworm-slim\nENV TARGETARCH=amd64\nCOPY bin-$TARGETARCH /b\n"},
		{"docker.io spelling", "FROM docker.io/library/python:3.11-slim\n"},
	}
	p := BuildPolicy{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.src
			out, err := p.Check(context.Background(), []byte(src), fakeImages(testImages))
			if err != nil {
				t.Fatalf("Check refused: %v\n%s", err, src)
			}
			// the rendered file says the same, instruction by instruction, at the same lines
			a, _ := parser.Parse(strings.NewReader(src))
			b, err := parser.Parse(strings.NewReader(string(out.Dockerfile)))
			if err != nil {
				t.Fatalf("rendered Dockerfile does not parse: %v\n%s", err, out.Dockerfile)
			}
			if len(a.AST.Children) != len(b.AST.Children) || len(out.StepLines) != len(a.AST.Children) {
				t.Fatalf("rendered %d instructions, want %d", len(b.AST.Children), len(a.AST.Children))
			}
			for i := range a.AST.Children {
				x, y := a.AST.Children[i], b.AST.Children[i]
				if x.Dump() != y.Dump() || x.StartLine != y.StartLine || out.StepLines[i] != x.StartLine {
					t.Errorf("instruction %d: rendered %q at line %d, want %q at line %d", i, y.Dump(), y.StartLine, x.Dump(), x.StartLine)
				}
			}
		})
	}
}

func TestBuildPolicyOperatorPatterns(t *testing.T) {
	t.Parallel()
	p := BuildPolicy{BaseImages: []string{"acme/*:1"}}
	_, err := p.Check(context.Background(), []byte("FROM acme/onbuild:1\n"), fakeImages(testImages))
	var r *BuildRefusal
	if !errors.As(err, &r) || !strings.Contains(r.Msg, "ONBUILD triggers") {
		t.Fatalf("an allowed base with ONBUILD triggers: %v", err)
	}
	if _, err := p.Check(context.Background(), []byte("FROM debian:bookworm-slim\n"), fakeImages(testImages)); err == nil || !strings.Contains(err.Error(), "acme/*:1, scratch") {
		t.Fatalf("a base outside the operator's list: %v", err)
	}
	lookupErr := errors.New("daemon down")
	_, err = BuildPolicy{}.Check(context.Background(), []byte("FROM debian:bookworm-slim\n"), func(context.Context, string) (LocalImage, bool, error) {
		return LocalImage{}, false, lookupErr
	})
	if !errors.Is(err, lookupErr) || errors.As(err, &r) {
		t.Fatalf("a failed lookup must be the grader's error, not a refusal: %v", err)
	}
}

// FuzzBuildPolicy: whatever the input, Check does not panic, and what it
// accepts re-checks to the same file and names no remote source, no
// ONBUILD and no heredoc (the properties the daemon relies on).
// go test ./grader -run '^$' -fuzz FuzzBuildPolicy -fuzztime 30s
func FuzzBuildPolicy(f *testing.F) {
	for _, s := range []string{
		"FROM debian:bookworm-slim\nADD http://127.0.0.1/s /s\n",
		"ARG U=http://x\nFROM debian:bookworm-slim\nARG U\nADD $U /s\n",
		"FROM golang:1.26-bookworm AS b\nRUN true\nFROM scratch\nCOPY --from=b /a /a\n",
		"# escape=`\nFROM debian:bookworm-slim\nADD `\n a /b\n",
		"FROM debian:bookworm-slim\nRUN <<EOF\nADD http://x /\nEOF\n",
		"FROM debian:bookworm-slim\nCOPY ${A:-x} ${B:+y} /d\n",
	} {
		f.Add([]byte(s))
	}
	p := BuildPolicy{}
	look := fakeImages(testImages)
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		out, err := p.Check(context.Background(), src, look)
		if err != nil {
			var r *BuildRefusal
			if !errors.As(err, &r) {
				t.Fatalf("non-refusal error %v", err)
			}
			return
		}
		again, err := p.Check(context.Background(), out.Dockerfile, look)
		if err != nil {
			t.Fatalf("the rendered file is refused: %v\n%q\nfrom %q", err, out.Dockerfile, src)
		}
		if string(again.Dockerfile) != string(out.Dockerfile) {
			t.Fatalf("rendering is not stable:\n%q\n%q", out.Dockerfile, again.Dockerfile)
		}
		res, err := parser.Parse(strings.NewReader(string(out.Dockerfile)))
		if err != nil {
			t.Fatalf("rendered file does not parse: %v", err)
		}
		for _, n := range res.AST.Children {
			if len(n.Heredocs) > 0 || strings.EqualFold(n.Value, "onbuild") {
				t.Fatalf("accepted %s on line %d", n.Value, n.StartLine)
			}
			if strings.EqualFold(n.Value, "add") {
				for a := n.Next; a != nil; a = a.Next {
					if isRemoteSource(a.Value) {
						t.Fatalf("accepted ADD %q", a.Value)
					}
				}
			}
		}
	})
}

func TestOutputCaps(t *testing.T) {
	t.Parallel()
	tb := &tailBuffer{max: 8}
	for _, w := range []string{"abc", "defgh", "ijklmnopqrstuvwxyz", "0", "é"} {
		_, _ = tb.Write([]byte(w))
	}
	if got := tb.String(); got != "vwxyz0é" {
		t.Errorf("tail %q", got)
	}
	long := strings.Repeat("é", maxOutputLine)
	if got := capLine(long); len(got) > maxOutputLine+4 || !strings.HasSuffix(got, " …") || !utf8Valid(got) {
		t.Errorf("capLine: %d bytes", len(got))
	}
	if got := capOutput(strings.Repeat("é", maxOutputBytes)); len(got) > maxOutputBytes+4 || !utf8Valid(got) {
		t.Errorf("capOutput: %d bytes", len(got))
	}
	for in, want := range map[string]string{
		`Error response from daemon: failed to create shim: OCI runtime create failed: runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown`: `exec: "nope": executable file not found in $PATH`,
		`failed to copy files: copy file range failed: stat /var/lib/docker/tmp/docker-builder123456/missing.txt: no such file`:                                                                          `failed to copy files: copy file range failed: stat missing.txt: no such file`,
		`open /var/lib/docker/overlay2/abc/merged/x: permission denied`:                                                                                                                                  `open <docker>: permission denied`,
	} {
		if got := daemonMessage(in); got != want {
			t.Errorf("daemonMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// BenchmarkBuildPolicy: the check of a typical multi-stage Dockerfile
// (with a fake, in-memory image store; the real one adds one inspect per
// base image).
func BenchmarkBuildPolicy(b *testing.B) {
	src := []byte("# syntax=docker/dockerfile:1\nARG GO=golang:1.26-bookworm\nFROM $GO AS build\nWORKDIR /src\nCOPY go.mod ./\nCOPY . .\n" +
		"RUN CGO_ENABLED=0 go build -o /out/app .\nFROM scratch\nCOPY --from=build /out/app /app\nUSER 65532:65532\n" +
		"HEALTHCHECK CMD [\"/app\", \"healthcheck\"]\nENTRYPOINT [\"/app\"]\n")
	look := fakeImages(testImages)
	for b.Loop() {
		if _, err := (BuildPolicy{}).Check(context.Background(), src, look); err != nil {
			b.Fatal(err)
		}
	}
}
