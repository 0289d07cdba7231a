// Package sandboxtest helps tests that need a real Docker daemon: it skips
// them when Docker is unreachable (fails them when CI=true), picks the test
// image and sweeps what a test created by label.
package sandboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
)

// Names shared with the sandbox package (kept literal: sandbox imports nothing
// of ours and this package must not import sandbox's internals).
const (
	DefaultImage  = "opsdojo/shell:latest"
	ImageEnv      = "OPSDOJO_TEST_IMAGE"
	labelManaged  = "io.opsdojo.managed"
	labelInstance = "io.opsdojo.instance"
	pingTimeout   = 5 * time.Second
	sweepTimeout  = 60 * time.Second
)

// Docker is the client tests get from Client and hand to the helpers (an
// alias: tests outside sandbox name it without importing the Docker SDK).
type Docker = *client.Client

// Unavailable skips t, or fails it when the environment says CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Client returns a Docker client for the environment's daemon, or skips t
// (fails under CI=true) when the daemon does not answer.
func Client(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		Unavailable(t, "docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		Unavailable(t, "docker unreachable: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Image returns the image tests should use ($OPSDOJO_TEST_IMAGE or
// opsdojo/shell:latest), skipping t when it is not present locally.
func Image(t testing.TB, cli *client.Client) string {
	t.Helper()
	img := os.Getenv(ImageEnv)
	if img == "" {
		img = DefaultImage
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		Unavailable(t, "test image %s not present (build it with `opsdojo images build`): %v", img, err)
	}
	return img
}

// NeedImage skips t (fails it under CI=true) when ref is not in the
// daemon's local store; how says how to get it.
func NeedImage(t testing.TB, cli *client.Client, ref, how string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		Unavailable(t, "image %s missing (%s): %v", ref, how, err)
	}
}

// labelFilter matches what carries every label (key or key=value).
func labelFilter(labels []string) filters.Args {
	f := filters.NewArgs()
	for _, l := range labels {
		f.Add("label", l)
	}
	return f
}

// Labelled returns the ids of the images (intermediate ones included) and
// the containers (running or not) that carry every label (key or
// key=value): what must not be left behind.
func Labelled(t testing.TB, cli *client.Client, labels ...string) (images, containers []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	imgs, err := cli.ImageList(ctx, image.ListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		t.Fatalf("list images labelled %v: %v", labels, err)
	}
	for _, i := range imgs {
		images = append(images, i.ID)
	}
	for _, c := range Containers(t, cli, labels...) {
		containers = append(containers, c.ID)
	}
	return images, containers
}

// Images returns the ids of the top-level images (as `docker images`
// lists them, without intermediate parents) that carry every label.
func Images(t testing.TB, cli *client.Client, labels ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: labelFilter(labels)})
	if err != nil {
		t.Fatalf("list images labelled %v: %v", labels, err)
	}
	ids := make([]string, 0, len(imgs))
	for _, i := range imgs {
		ids = append(ids, i.ID)
	}
	return ids
}

// Containers lists the containers (running or not) that carry every label.
func Containers(t testing.TB, cli *client.Client, labels ...string) []container.Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	ctrs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	if err != nil {
		t.Fatalf("list containers labelled %v: %v", labels, err)
	}
	return ctrs
}

// Exists reports whether the daemon knows container id.
func Exists(t testing.TB, cli *client.Client, id string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	_, err := cli.ContainerInspect(ctx, id)
	if err != nil && !errdefs.IsNotFound(err) {
		t.Fatalf("inspect container %.12s: %v", id, err)
	}
	return err == nil
}

// RemoveImages removes the top-level images that carry every label (key
// or key=value), with their untagged parents.
func RemoveImages(t testing.TB, cli *client.Client, labels ...string) {
	t.Helper()
	imgs := Images(t, cli, labels...)
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	for _, id := range imgs {
		if _, err := cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			t.Logf("remove image %.19s labelled %v: %v", id, labels, err)
		}
	}
}

// SweepLabelled removes the containers and then the images that carry
// every label: what a test's image builds left behind.
func SweepLabelled(t testing.TB, cli *client.Client, labels ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	for _, c := range Containers(t, cli, labels...) {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Logf("sweep %v: remove container %.12s: %v", labels, c.ID, err)
		}
	}
	RemoveImages(t, cli, labels...)
}

// Instance returns a fresh instance name for a sandbox.Config and registers
// a cleanup that removes every container and network labelled with it.
func Instance(t testing.TB, cli *client.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	inst := "test-" + hex.EncodeToString(b)
	t.Cleanup(func() { Sweep(t, cli, inst) })
	return inst
}

// Sweep removes the containers, networks and images of instance.
func Sweep(t testing.TB, cli *client.Client, instance string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", labelManaged+"=true"), filters.Arg("label", labelInstance+"="+instance))
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		t.Logf("sweep %s: list: %v", instance, err)
		return
	}
	for _, c := range cs {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Logf("sweep %s: remove %s: %v", instance, c.ID[:12], err)
		}
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		t.Logf("sweep %s: list networks: %v", instance, err)
		return
	}
	for _, n := range nets {
		if err := cli.NetworkRemove(ctx, n.ID); err != nil {
			t.Logf("sweep %s: remove network %s: %v", instance, n.Name, err)
		}
	}
	// Images of the instance: hibernated sandboxes (opsdojo-hibernated:*)
	// a test's server made, also after the test's own clean-up ran.
	imgs, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", labelInstance+"="+instance))})
	if err != nil {
		t.Logf("sweep %s: list images: %v", instance, err)
		return
	}
	for _, im := range imgs {
		if _, err := cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !errdefs.IsNotFound(err) {
			t.Logf("sweep %s: remove image %.19s: %v", instance, im.ID, err)
		}
	}
}

// Context returns a context that ends after d or at the test's deadline,
// whichever is first.
func Context(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := dt.Deadline(); ok && time.Until(dl) < d {
			d = time.Until(dl) - time.Second
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
