package images

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// TestDebootstrapMakesAWorkingBase runs the offline bootstrap for real:
// debootstrap from the host's apt mirror, docker import, and a container
// of the result runs bash. Slow (about a minute); opt in with
// OPSDOJO_TEST_DEBOOTSTRAP=1 (CI exercises the same path through
// `opsdojo images build` on a machine without the base image).
func TestDebootstrapMakesAWorkingBase(t *testing.T) {
	if os.Getenv("OPSDOJO_TEST_DEBOOTSTRAP") != "1" {
		t.Skip("set OPSDOJO_TEST_DEBOOTSTRAP=1 to run the real debootstrap (about a minute)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const ref = "debian:12-slim"
	_, _ = cli.ImageRemove(ctx, ref, image.RemoveOptions{})
	var progress bytes.Buffer
	d := &Debootstrap{Docker: cli, WorkDir: t.TempDir()}
	if err := d.Make(ctx, ref, &progress); err != nil {
		t.Fatalf("make: %v\n%s", err, progress.String())
	}
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{}) })
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "none", ref, "bash", "-c", "cat /etc/debian_version; apt-get --version | head -1").CombinedOutput()
	if err != nil || !bytes.HasPrefix(out, []byte("12.")) {
		t.Fatalf("container of %s: %v\n%s", ref, err, out)
	}
	t.Logf("%s", out)
}
