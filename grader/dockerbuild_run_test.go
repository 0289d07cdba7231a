package grader_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// serverC is "the application": a tiny HTTP server the candidate's
// Dockerfile compiles from the context. It answers JSON with $BUILD and
// whether the secret file holds the token, and logs the token (which the
// grader must not show).
const serverC = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
int main(void) {
  char tok[128] = ""; FILE *f = fopen("/run/secrets/token", "r");
  if (f) { if (!fgets(tok, sizeof tok, f)) tok[0] = 0; fclose(f); }
  const char *build = getenv("BUILD"); if (!build) build = "";
  printf("hello server starting, token %s\n", tok); fflush(stdout);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(8080);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8)) return 1;
  for (;;) {
    int c = accept(s, 0, 0); char buf[2048], body[512], resp[1024];
    if (read(c, buf, sizeof buf) < 0) { close(c); continue; }
    snprintf(body, sizeof body, "{\"service\": \"hello\", \"build\": \"%s\", \"token_ok\": %s}", build, strcmp(tok, "s3cr3t-t0ken") ? "false" : "true");
    snprintf(resp, sizeof resp, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    if (write(c, resp, strlen(resp)) < 0) {}
    close(c);
  }
}
`

// TestBuildRunNaturalCheckCatchesStandIns: docker_build.run with the new
// fields — env and secret files for the run, expect_json on the answer,
// expect_user compared by uid, expect_exe — passes the application built
// from the context and shows its log (secret redacted), while a static
// stub (python3 -m http.server serving the expected JSON, which passes the
// check without expect_exe), python3 renamed to the expected binary, and a
// uid-0 alias user all fail.
func TestBuildRunNaturalCheckCatchesStandIns(t *testing.T) {
	t.Parallel()
	b := builderFor(t)
	sandboxtest.NeedImage(t, sandboxtest.Client(t), "golang:1.26-bookworm", "opsdojo images build --offline golang")
	ctx := sandboxtest.Context(t, 8*time.Minute)
	env := map[string]string{"BUILD": "b-4711", "TOKEN": "s3cr3t-t0ken"}
	run := func(exe string) *challenges.BuildRun {
		return &challenges.BuildRun{Port: 8080, ReadyTimeout: challenges.Duration(20 * time.Second),
			ExpectJSON:  map[string]string{"service": "hello", "build": "${BUILD}"},
			Env:         map[string]string{"BUILD": "${BUILD}"},
			SecretFiles: map[string]string{"/run/secrets/token": "${TOKEN}"},
			ExpectUser:  "app", ExpectExe: exe}
	}
	grade := func(name string, files map[string]string, r *challenges.BuildRun) grader.BuildResult {
		t.Helper()
		res, err := b.BuildAndRun(ctx, grader.BuildRequest{Context: tarOf(t, files), Dockerfile: "Dockerfile",
			BuildTimeout: 3 * time.Minute, Run: r, Env: env})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: passed=%v %s\n%s", name, res.Passed, res.Message, res.Output)
		return res
	}

	// The final stage is scratch, as in the library's Go challenges: no
	// dpkg database, no shell; the user comes from a passwd in the context.
	honest := map[string]string{"server.c": serverC, "passwd": "app:x:10001:10001::/:/nonexistent\n", "Dockerfile": `FROM golang:1.26-bookworm AS build
COPY server.c /src/server.c
RUN gcc -O2 -static -o /server /src/server.c
FROM scratch
COPY passwd /etc/passwd
COPY --from=build /server /app/server
USER app
ENTRYPOINT ["/app/server"]
`}
	res := grade("honest", honest, run("/app/server"))
	if !res.Passed {
		t.Errorf("the honest image failed: %s", res.Message)
	}
	if !strings.Contains(res.Output, "--- container log ---") || !strings.Contains(res.Output, "hello server starting") {
		t.Errorf("the container's log is not in the feedback:\n%s", res.Output)
	}
	if strings.Contains(res.Output, env["TOKEN"]) || !strings.Contains(res.Output, "token [secret]") {
		t.Errorf("the secret is shown, or its redaction is missing:\n%s", res.Output)
	}

	stubFiles := func(df string) map[string]string {
		return map[string]string{"index.html": `{"service": "hello", "build": "b-4711", "token_ok": true}`, "Dockerfile": df}
	}
	stub := stubFiles(`FROM python:3.11-slim
RUN useradd --uid 10001 --no-create-home app
COPY index.html /srv/index.html
USER app
WORKDIR /srv
CMD ["python3", "-m", "http.server", "8080"]
`)
	// Without expect_exe the stub answers exactly what the app answers.
	if res := grade("stub, natural check", stub, run("")); !res.Passed {
		t.Fatalf("the stub should pass a check without expect_exe (the cheat this test is about): %s", res.Message)
	}
	if res := grade("stub", stub, run("/app/server")); res.Passed || !strings.Contains(res.Message, "runs /usr/bin/python3") {
		t.Errorf("stub: passed=%v %q, want a failure naming python3", res.Passed, res.Message)
	}
	renamed := stubFiles(`FROM python:3.11-slim
RUN useradd --uid 10001 --no-create-home app && mkdir /app && cp "$(readlink -f /usr/bin/python3)" /app/server && rm -rf /var/lib/dpkg/info
COPY index.html /srv/index.html
USER app
WORKDIR /srv
ENTRYPOINT ["/app/server", "-m", "http.server", "8080"]
`)
	if res := grade("python renamed", renamed, run("/app/server")); res.Passed || !strings.Contains(res.Message, "Debian package") {
		t.Errorf("renamed python: passed=%v %q, want a failure naming the Debian package", res.Passed, res.Message)
	}
	alias := map[string]string{"server.c": serverC, "Dockerfile": `FROM golang:1.26-bookworm AS build
COPY server.c /src/server.c
RUN gcc -O2 -static -o /server /src/server.c
FROM debian:bookworm-slim
RUN useradd --non-unique --uid 0 --no-create-home app
COPY --from=build /server /app/server
USER app
ENTRYPOINT ["/app/server"]
`}
	if res := grade("uid-0 alias", alias, run("/app/server")); res.Passed || !strings.Contains(res.Message, "root under another name") {
		t.Errorf("uid-0 alias: passed=%v %q, want a failure naming the alias", res.Passed, res.Message)
	}
}
