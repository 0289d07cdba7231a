package images

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/client"
)

func opsdojoOnly(ref string) bool { return strings.HasPrefix(ref, "opsdojo/") }

// TestBuildChallengeRefusesBases: a challenge image's FROM must be allowed
// and present locally (nothing is pulled), and COPY --from only an earlier
// stage; each refusal names Dockerfile:line. Uses the real daemon's
// inspect, and never reaches a build.
func TestBuildChallengeRefusesBases(t *testing.T) {
	t.Parallel()
	dc, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if _, err := dc.Ping(context.Background()); err != nil {
		t.Skipf("no Docker: %v", err)
	}
	cases := map[string]struct{ dockerfile, want string }{
		"not allowed": {"FROM opsdojo/shell:latest AS a\nRUN true\nFROM debian:bookworm-slim\n", "Dockerfile:3: FROM debian:bookworm-slim is not allowed"},
		"not present": {"# a comment\nFROM opsdojo/never-built-k:latest\n", "Dockerfile:2: FROM opsdojo/never-built-k:latest is not on the Docker host"},
		"variable":    {"ARG B=opsdojo/shell:latest\nFROM ${B}\n", "Dockerfile:2: FROM ${B}: name the base image literally"},
		"add url":     {"FROM opsdojo/shell:latest\nADD https://example.com/x /x\n", "Dockerfile:2: ADD is not allowed"},
		"heredoc":     {"FROM opsdojo/shell:latest\nRUN <<EOF\nADD http://x /y\nEOF\n", "Dockerfile:2: heredocs (<<EOF) are not allowed"},
		"stage index": {"FROM opsdojo/shell:latest\nRUN true\nFROM opsdojo/shell:latest\nCOPY --from=1 /x /y\n", "Dockerfile:4: COPY --from=1: only an earlier stage"},
		"copy from":   {"FROM opsdojo/shell:latest\nCOPY --from=alpine:3 /bin/sh /x\n", "Dockerfile:2: COPY --from=alpine:3: only an earlier stage"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(tc.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			b := NewBuilder(dc, nil, slog.New(slog.DiscardHandler), &out)
			_, err := b.BuildChallenge(context.Background(), ChallengeImage{Context: dir, Ref: "opsdojo/challenge-refused-k:0"}, opsdojoOnly, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(out.String(), "building") {
				t.Errorf("a refused Dockerfile reached the daemon:\n%s", out.String())
			}
		})
	}
}
