package dockerfile

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

const good = `# syntax=docker/dockerfile:1
ARG PY=3.11-slim
FROM python:${PY} AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN pip wheel -w /wheels /src

FROM python:${PY}
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl
USER 10001:10001
HEALTHCHECK --interval=10s CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health')"]
ENTRYPOINT ["python", "-m", "app"]
CMD ["--port", "8000"]
`

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		opts Options
		want []string // "rule@line"
	}{
		{"good default rules", good, Options{}, nil},
		{"good multistage", good, Options{RequireMultistage: true}, nil},
		{"syntax unknown instruction", "FROM debian:12\nFORM x\n", Options{}, []string{"DF000@2"}},
		{"syntax empty file", "# nothing\n", Options{}, []string{"DF000@1"}},
		{"syntax no FROM", "RUN echo hi\n", Options{}, []string{"DF000@1"}},
		{"syntax unterminated heredoc", "FROM debian:12\nRUN <<EOF\necho\n", Options{}, []string{"DF000@2"}},
		{"syntax COPY one arg", "FROM debian:12\nCOPY x\n", Options{}, []string{"DF000@2"}},
		{"syntax bad healthcheck", "FROM debian:12\nHEALTHCHECK echo\n", Options{}, []string{"DF000@2"}},
		{"syntax bad FROM", "FROM a b\n", Options{}, []string{"DF000@1"}},

		{"DF001 no user", "FROM debian:12\n", Options{Rules: []string{"DF001"}}, []string{"DF001@1"}},
		{"DF001 root", "FROM debian:12\nUSER app\nUSER root\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 uid 0 with group", "FROM debian:12\nUSER 0:1000\n", Options{Rules: []string{"DF001"}}, []string{"DF001@2"}},
		{"DF001 arg user root", "FROM debian:12\nARG U=root\nUSER ${U}\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 arg user ok", "FROM debian:12\nARG U=app\nUSER $U\n", Options{Rules: []string{"DF001"}}, nil},
		{"DF001 user in builder only", "FROM debian:12 AS b\nUSER app\nFROM debian:12\nCOPY --from=b /a /a\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 inherited from stage", "FROM debian:12 AS base\nUSER app\nFROM base\nRUN true\n", Options{Rules: []string{"DF001"}}, nil},
		{"DF001 nonroot", "FROM debian:12\nUSER nobody\n", Options{Rules: []string{"DF001"}}, nil},
		// Issue #15: a second name for uid 0 is root.
		{"DF001 uid 0 alias useradd", "FROM debian:12\nRUN useradd --non-unique --uid 0 app\nUSER app\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 uid 0 alias short flags", "FROM debian:12\nRUN apt-get update && useradd -o -u0 -g 0 -M app && true\nUSER app:app\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 uid 0 alias usermod", "FROM debian:12\nRUN useradd app && usermod -o -u 0 app\nUSER app\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 uid 0 alias passwd line", "FROM debian:12\nRUN echo 'app:x:0:0::/:/bin/sh' >> /etc/passwd\nUSER app\n", Options{Rules: []string{"DF001"}}, []string{"DF001@3"}},
		{"DF001 uid 0 alias in base stage", "FROM debian:12 AS base\nRUN useradd -o -u 0 app\nFROM base\nUSER app\n", Options{Rules: []string{"DF001"}}, []string{"DF001@4"}},
		{"DF001 numeric zero", "FROM debian:12\nUSER 000\n", Options{Rules: []string{"DF001"}}, []string{"DF001@2"}},
		{"DF001 real uid", "FROM debian:12\nRUN useradd --uid 10001 app\nUSER app\n", Options{Rules: []string{"DF001"}}, nil},
		{"DF001 other user uid 0", "FROM debian:12\nRUN useradd -o -u 0 other && useradd -u 1000 app\nUSER app\n", Options{Rules: []string{"DF001"}}, nil},

		{"DF002 latest", "FROM nginx:latest\n", Options{Rules: []string{"DF002"}}, []string{"DF002@1"}},
		{"DF002 no tag", "FROM nginx\n", Options{Rules: []string{"DF002"}}, []string{"DF002@1"}},
		{"DF002 registry port no tag", "FROM registry.local:5000/team/app\n", Options{Rules: []string{"DF002"}}, []string{"DF002@1"}},
		{"DF002 registry port tag", "FROM registry.local:5000/team/app:1.2\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 digest", "FROM nginx@sha256:" + strings.Repeat("a", 64) + "\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 scratch", "FROM scratch\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 stage ref", "FROM golang:1.22 AS b\nFROM b\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 arg default pinned", "ARG BASE=debian:bookworm-slim\nFROM ${BASE}\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 arg default latest", "ARG BASE=debian:latest\nFROM $BASE\n", Options{Rules: []string{"DF002"}}, []string{"DF002@2"}},
		{"DF002 arg no default", "ARG BASE\nFROM ${BASE}\n", Options{Rules: []string{"DF002"}}, []string{"DF002@2"}},
		{"DF002 arg tag only", "ARG V=1.25\nFROM nginx:${V}\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 lowercase as", "FROM node:20 as deps\nFROM deps\n", Options{Rules: []string{"DF002"}}, nil},
		{"DF002 several stages", "FROM a:1 AS x\nFROM b\nFROM c:latest\n", Options{Rules: []string{"DF002"}}, []string{"DF002@2", "DF002@3"}},

		{"DF003 missing", "FROM debian:12\n", Options{Rules: []string{"DF003"}}, []string{"DF003@1"}},
		{"DF003 none", "FROM debian:12\nHEALTHCHECK NONE\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 present", "FROM debian:12\nRUN apt-get install -y curl\nHEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\n", Options{Rules: []string{"DF003"}}, nil},
		// Issue #15: health checks that cannot tell a broken app from a healthy one.
		{"DF003 cheat true", "FROM debian:12\nHEALTHCHECK CMD true\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 cheat exec true", "FROM debian:12\nHEALTHCHECK CMD [\"true\"]\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 cheat exit 0", "FROM debian:12\nHEALTHCHECK CMD exit 0\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 cheat echo", "FROM debian:12\nHEALTHCHECK --interval=5s CMD [\"sh\", \"-c\", \"echo ok\"]\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 cheat or true", "FROM debian:12\nRUN apt-get install -y curl\nHEALTHCHECK CMD curl -f http://localhost:8080/ || true\n", Options{Rules: []string{"DF003"}}, []string{"DF003@3"}},
		{"DF003 probes nothing", "FROM debian:12\nHEALTHCHECK CMD pgrep app\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 curl missing slim", "FROM python:3.11-slim\nHEALTHCHECK CMD curl -f http://localhost:8000/ || exit 1\n", Options{Rules: []string{"DF003"}}, []string{"DF003@2"}},
		{"DF003 curl missing via stage", "FROM debian:bookworm-slim AS base\nRUN echo\nFROM base\nHEALTHCHECK CMD [\"wget\", \"-q\", \"http://localhost/\"]\n", Options{Rules: []string{"DF003"}}, []string{"DF003@4"}},
		{"DF003 shell form in scratch", "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\nHEALTHCHECK CMD /app healthcheck\n", Options{Rules: []string{"DF003"}}, []string{"DF003@4"}},
		{"DF003 own health command", "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\nHEALTHCHECK CMD [\"/app\", \"healthcheck\"]\n", Options{Rules: []string{"DF003"}}, nil},
		{"DF003 curl in unknown base", "FROM acme/base:1\nHEALTHCHECK CMD curl -f http://localhost/\n", Options{Rules: []string{"DF003"}}, nil},
		{"DF003 python probe", "FROM python:3.11-slim\nENTRYPOINT [\"python\", \"app.py\"]\nHEALTHCHECK CMD [\"python\", \"-c\", \"import sys\"]\n", Options{Rules: []string{"DF003"}}, []string{"DF003@3"}},
		{"DF003 only in builder", "FROM debian:12 AS b\nHEALTHCHECK CMD true\nFROM debian:12\n", Options{Rules: []string{"DF003"}}, []string{"DF003@3"}},

		{"DF004 single stage", "FROM debian:12\n", Options{RequireMultistage: true}, []string{"DF001@1", "DF003@1", "DF004@1"}},
		{"DF004 two stages no copy", "FROM golang:1.22 AS b\nFROM debian:12\n", Options{Rules: []string{"DF004"}}, []string{"DF004@2"}},
		{"DF004 copy from stage index", "FROM golang:1.22\nRUN go build\nFROM debian:12\nCOPY --from=0 /a /a\n", Options{Rules: []string{"DF004"}}, nil},
		{"DF004 copy from image only", "FROM golang:1.22 AS b\nFROM debian:12\nCOPY --from=nginx:1 /a /a\n", Options{Rules: []string{"DF004"}}, []string{"DF004@2"}},

		{"DF005 env password", "FROM debian:12\nENV DB_PASSWORD=hunter2\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 env legacy form", "FROM debian:12\nENV API_KEY abc\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 arg token default", "FROM debian:12\nARG GITHUB_TOKEN=ghp_x\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 arg no default ok", "FROM debian:12\nARG NPM_TOKEN\n", Options{Rules: []string{"DF005"}}, nil},
		{"DF005 _FILE ok", "FROM postgres:16\nENV POSTGRES_PASSWORD_FILE=/run/secrets/pw\n", Options{Rules: []string{"DF005"}}, nil},
		{"DF005 several in one env", "FROM debian:12\nENV A=1 AWS_SECRET_ACCESS_KEY=x PRIVATE_KEY=y\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2", "DF005@2"}},
		{"DF005 meta arg", "ARG SECRET=x\nFROM debian:12\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 harmless names", "FROM debian:12\nENV PORT=80 TOKENIZER_PATH=/x\n", Options{Rules: []string{"DF005"}}, nil},
		// Issue #15: credentials recognised by their shape, whatever the name.
		{"DF005 url with password", "FROM debian:12\nENV DATABASE_URL=\"postgres://u:Secret@db/x\"\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 url without password", "FROM debian:12\nENV DATABASE_URL=postgres://u@db/x UPSTREAM=http://api:8080/v1\n", Options{Rules: []string{"DF005"}}, nil},
		{"DF005 url password from variable", "FROM debian:12\nENV DATABASE_URL=postgres://u:${DB_PW}@db/x\n", Options{Rules: []string{"DF005"}}, nil},
		{"DF005 aws key id", "FROM debian:12\nENV AWS_ID=AKIAIOSFODNN7EXAMPLE\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 aws secret shape", "FROM debian:12\nENV AWS_S=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 github token", "FROM debian:12\nARG GH=ghp_0123456789abcdefghijABCDEFGHIJ012345\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 slack token meta arg", "ARG HOOK=xoxb-1234567890-abcdefghij\nFROM debian:12\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 jwt", "FROM debian:12\nENV AUTHZ=\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnop\"\n", Options{Rules: []string{"DF005"}}, []string{"DF005@2"}},
		{"DF005 path is not a key", "FROM debian:12\nENV P=/usr/local/lib/python3.11/site-packages/x\n", Options{Rules: []string{"DF005"}}, nil},

		{"DF006 not cleaned", "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n", Options{Rules: []string{"DF006"}}, []string{"DF006@2"}},
		{"DF006 cleaned", "FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n", Options{Rules: []string{"DF006"}}, nil},
		{"DF006 cleaned other flags", "FROM debian:12\nRUN apt-get -q install -y curl; rm -fr /var/lib/apt/lists\n", Options{Rules: []string{"DF006"}}, nil},
		{"DF006 cleaned in later RUN", "FROM debian:12\nRUN apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n", Options{Rules: []string{"DF006"}}, []string{"DF006@2"}},
		{"DF006 apt install", "FROM debian:12\nRUN apt install -y curl\n", Options{Rules: []string{"DF006"}}, []string{"DF006@2"}},
		{"DF006 cache mount", "FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt apt-get install -y curl\n", Options{Rules: []string{"DF006"}}, nil},
		{"DF006 heredoc", "FROM debian:12\nRUN <<EOF\napt-get install -y curl\nEOF\n", Options{Rules: []string{"DF006"}}, []string{"DF006@2"}},
		{"DF006 builder stage ignored", "FROM debian:12 AS b\nRUN apt-get install -y gcc\nFROM debian:12\nCOPY --from=b /a /a\n", Options{Rules: []string{"DF006"}}, nil},
		{"DF006 multiline", "FROM debian:12\nRUN apt-get update \\\n && apt-get install -y curl\n", Options{Rules: []string{"DF006"}}, []string{"DF006@2"}},

		{"DF007 shell cmd", "FROM debian:12\nCMD python app.py\n", Options{Rules: []string{"DF007"}}, []string{"DF007@2"}},
		{"DF007 shell entrypoint", "FROM debian:12\nENTRYPOINT /app\nCMD [\"x\"]\n", Options{Rules: []string{"DF007"}}, []string{"DF007@2"}},
		{"DF007 last one counts", "FROM debian:12\nCMD python app.py\nCMD [\"python\", \"app.py\"]\n", Options{Rules: []string{"DF007"}}, nil},
		{"DF007 none", "FROM debian:12\n", Options{Rules: []string{"DF007"}}, nil},

		{"all default on bad", "FROM python:latest\nENV API_TOKEN=changeme\nRUN apt-get install -y curl\nCMD python app.py\n", Options{},
			[]string{"DF001@1", "DF002@1", "DF003@1", "DF005@2", "DF006@3", "DF007@4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Check("Dockerfile", []byte(tt.src), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, f.Rule+"@"+strconv.Itoa(f.Line))
				if f.Message == "" {
					t.Errorf("finding %s without message", f.Rule)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings = %v, want %v\n%v", got, want, rep.Findings)
			}
			if rep.OK() != (len(want) == 0) {
				t.Errorf("OK() = %v with findings %v", rep.OK(), got)
			}
		})
	}
}

func TestCheckUnknownRule(t *testing.T) {
	t.Parallel()
	if _, err := Check("Dockerfile", []byte("FROM a:1\n"), Options{Rules: []string{"DF999"}}); err == nil {
		t.Fatal("want error for unknown rule")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	err := Validate([]byte("FROM debian:12\n\nRUN true\nBOGUS x\n"))
	se, ok := err.(*SyntaxError)
	if !ok || se.Line != 4 || !strings.Contains(se.Msg, "BOGUS") {
		t.Fatalf("Validate = %#v", err)
	}
	if err := Validate([]byte(good)); err != nil {
		t.Fatal(err)
	}
}
