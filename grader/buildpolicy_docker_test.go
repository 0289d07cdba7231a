package grader_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

const buildBase = "debian:bookworm-slim"

// loopbackSecret serves a random secret on host loopback and counts the
// requests it gets: what a daemon fetching `ADD <url>` on the host's
// network would read.
func loopbackSecret(t *testing.T) (port int, secret string, hits *atomic.Int64) {
	t.Helper()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	secret = "s3cret-" + hex.EncodeToString(b)
	hits = new(atomic.Int64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, secret)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, secret, hits
}

func tarOf(t *testing.T, files map[string]string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func builderFor(t *testing.T) *grader.DockerBuilder {
	t.Helper()
	cli := sandboxtest.Client(t)
	sandboxtest.NeedImage(t, cli, buildBase, "opsdojo images build --offline")
	b := grader.NewDockerBuilder(sandbox.NewImageBuilder(cli), probeImage)
	t.Cleanup(func() { sandboxtest.SweepLabelled(t, cli, b.LabelFilter()) })
	return b
}

// TestBuildNeverReachesTheNetwork: Dockerfiles that would make the daemon
// fetch a URL (on the host's network: loopback, internal services, cloud
// metadata) or pull an image are refused before the daemon sees them, with
// the Dockerfile line; the loopback server gets no request; the secret is
// in no message or output.
func TestBuildNeverReachesTheNetwork(t *testing.T) {
	t.Parallel()
	b := builderFor(t)
	port, secret, hits := loopbackSecret(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/secret", port)
	// Every Dockerfile prints what it fetched when the container runs, as
	// the attack did: the run step shows the container's last output.
	run := "\nCMD [\"cat\", \"/s\"]\n"
	tests := []struct {
		name, dockerfile string
		line             int
	}{
		{"ADD url", "FROM " + buildBase + "\nADD " + url + " /s" + run, 2},
		{"ARG-substituted URL", "FROM " + buildBase + "\nARG U=" + url + "\nADD $U /s" + run, 3},
		{"meta ARG re-declared", "ARG U=" + url + "\nFROM " + buildBase + "\nARG U\nADD ${U} /s" + run, 4},
		{"ENV-substituted URL", "FROM " + buildBase + "\nENV H=127.0.0.1\nADD http://${H}:" + fmt.Sprint(port) + "/secret /s" + run, 3},
		{"uppercase scheme", "FROM " + buildBase + "\nADD " + strings.Replace(url, "http://", "HTTP://", 1) + " /s" + run, 2},
		{"one remote among several sources", "FROM " + buildBase + "\nADD a.txt " + url + " /d/\nRUN cp /d/secret /s" + run, 2},
		{"JSON form", "FROM " + buildBase + "\nADD [\"" + url + "\", \"/s\"]" + run, 2},
		{"continuation lines", "FROM " + buildBase + "\nADD \\\n  # a comment\n  " + url + " \\\n  /s" + run, 2},
		{"heredoc (the daemon's parser reads its body as instructions)", "FROM " + buildBase + "\nRUN <<CMD\nADD " + url + " /s\nCMD" + run, 2},
		{"ONBUILD in an earlier stage", "FROM " + buildBase + " AS a\nONBUILD ADD " + url + " /s\nFROM a" + run, 2},
		{"git URL", "FROM " + buildBase + "\nADD git@127.0.0.1:x/y.git /s" + run, 2},
		{"COPY --from a non-stage image", "FROM " + buildBase + "\nCOPY --from=127.0.0.1:" + fmt.Sprint(port) + "/x:1 /s /s" + run, 2},
		{"FROM an unknown image", "FROM " + buildBase + "\nRUN true\nFROM 127.0.0.1:" + fmt.Sprint(port) + "/evil:1" + run, 3},
		{"FROM an allowed image missing on the host", "FROM golang:1.1-bookworm\nADD " + url + " /s" + run, 1},
		{"RUN --network", "FROM " + buildBase + "\nRUN --network=host true" + run, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := sandboxtest.Context(t, 2*time.Minute)
			before := hits.Load()
			res, err := b.BuildAndRun(ctx, grader.BuildRequest{
				Context:      tarOf(t, map[string]string{"Dockerfile": tt.dockerfile, "a.txt": "a"}),
				Dockerfile:   "Dockerfile",
				BuildTimeout: time.Minute,
				Run:          &challenges.BuildRun{Command: []string{"cat", "/s"}},
			})
			if err != nil {
				t.Fatalf("BuildAndRun: %v", err)
			}
			want := fmt.Sprintf("the grader does not build this Dockerfile: line %d: ", tt.line)
			if res.Passed || !strings.HasPrefix(res.Message, want) {
				t.Errorf("message %q, want it to start with %q", res.Message, want)
			}
			if strings.Contains(res.Message+res.Output, secret) {
				t.Errorf("the secret reached the candidate: %q / %q", res.Message, res.Output)
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("the loopback server got %d requests", n)
			}
			t.Logf("%s", res.Message)
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("the loopback server got %d requests in all", n)
		}
	})
}

// TestBuildOutputIsTheCandidates: an accepted build still builds and runs;
// what the candidate reads is their instructions, their programs' output
// and the grader's words, capped, without the daemon's messages (layer and
// container ids, cache hits of other builds, tags).
func TestBuildOutputIsTheCandidates(t *testing.T) {
	t.Parallel()
	b := builderFor(t)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	df := "FROM " + buildBase + "\n# a comment\nCOPY a.txt /a.txt\nRUN echo built-by-candidate && head -c 100000 /dev/zero | tr '\\0' x\n" +
		"CMD [\"sh\", \"-c\", \"cat /a.txt; head -c 300000 /dev/zero | tr '\\\\0' y; echo; echo bye; exit 3\"]\n"
	res, err := b.BuildAndRun(ctx, grader.BuildRequest{
		Context: tarOf(t, map[string]string{"Dockerfile": df, "a.txt": "hello-a"}), Dockerfile: "Dockerfile",
		BuildTimeout: time.Minute, Run: &challenges.BuildRun{Port: 8080, ReadyTimeout: challenges.Duration(2 * time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("message: %.300s", res.Message)
	t.Logf("output (%d bytes): %.600s", len(res.Output), res.Output)
	if res.Passed || !strings.Contains(res.Message, "exited with status 3") || !strings.Contains(res.Message, "bye") {
		t.Errorf("message %q", res.Message)
	}
	if len(res.Message) > 3000 {
		t.Errorf("message of %d bytes", len(res.Message))
	}
	if len(res.Output) > 8<<10+8 {
		t.Errorf("output of %d bytes", len(res.Output))
	}
	for _, daemon := range []string{" ---> ", "Running in", "Removing intermediate", "Successfully", "opsdojo-grade/"} {
		if strings.Contains(res.Output, daemon) {
			t.Errorf("output shows the daemon's %q:\n%s", daemon, res.Output)
		}
	}
	if !strings.Contains(res.Output, "built-by-candidate") || !strings.Contains(res.Output, "Step 3/5 : RUN echo built-by-candidate") {
		t.Errorf("output lost the candidate's build output:\n%s", res.Output)
	}

	// a failing step is reported with its Dockerfile line
	res, err = b.BuildAndRun(ctx, grader.BuildRequest{
		Context: tarOf(t, map[string]string{"Dockerfile": "FROM " + buildBase + "\n\nRUN true\nCOPY missing.txt /m\n"}), Dockerfile: "Dockerfile",
		BuildTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || !strings.HasPrefix(res.Message, "the image does not build: line 4: ") || strings.Contains(res.Message, "docker-builder") {
		t.Errorf("message %q", res.Message)
	}
}
