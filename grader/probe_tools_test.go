package grader_test

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestProbeTools: the client tools docs/CHALLENGES.md promises check
// scripts (psql, mysql, redis-cli, dig, jq, openssl, nc, curl, ssh) run in
// the probe. OPSDOJO_TEST_PROBE_IMAGE tests another build of the image.
func TestProbeTools(t *testing.T) {
	t.Parallel()
	img := probeImage
	if v := os.Getenv("OPSDOJO_TEST_PROBE_IMAGE"); v != "" {
		img = v
	}
	cli := sandboxtest.Client(t)
	sandboxtest.Image(t, cli)
	sandboxtest.NeedImage(t, cli, img, "opsdojo images build")
	m, err := sandbox.NewManager(cli, sandbox.Config{Instance: sandboxtest.Instance(t, cli), MaxPerOwner: -1, ProbeImage: img, Runtime: sandboxtest.Runtime()}, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := sandboxtest.Context(t, 2*time.Minute)
	sb, err := m.Create(ctx, sandbox.Spec{Image: "opsdojo/shell:latest", OwnerID: "test", AttemptID: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(sandboxtest.Context(t, 30*time.Second), sb.ID) })
	script := `set -u
for c in "psql --version" "mysql --version" "redis-cli --version" "dig -v" "jq --version" "openssl version" "curl --version" "ssh -V"; do
  if out=$($c 2>&1 | head -1); then echo "ok $c: $out"; else echo "MISSING $c: $out"; fi
done
command -v nc >/dev/null && echo "ok nc" || echo "MISSING nc"
printf '{"items":[1,2,3]}' | jq -e '.items | length == 3' >/dev/null && echo "ok jq works" || echo "MISSING jq works"
`
	res, err := m.Probe(ctx, sb.ID, sandbox.ProbeSpec{Cmd: []string{"bash", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Stdout)
	t.Logf("probe %s:\n%s%s", img, out, res.Stderr)
	if strings.Contains(out, "MISSING") || strings.Count(out, "ok ") != 10 {
		t.Fatalf("the probe lacks tools (rebuild it: opsdojo images build probe):\n%s", out)
	}
}
