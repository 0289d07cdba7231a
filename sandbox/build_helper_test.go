package sandbox_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestHelperOfAStoppedContainerIsNotRunning: a helper that joins the
// network of a container that has stopped is ErrNotRunning (recognised by
// the daemon's conflict or the container's state, not by the error's
// text), not an infrastructure error.
func TestHelperOfAStoppedContainerIsNotRunning(t *testing.T) {
	t.Parallel()
	cli := sandboxtest.Client(t)
	image := sandboxtest.Image(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	label := "io.opsdojo.test-helper-" + sandboxtest.Instance(t, cli)
	t.Cleanup(func() { sandboxtest.SweepLabelled(t, cli, label) })
	cr, err := cli.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"true"}, Entrypoint: []string{}, Labels: map[string]string{label: "1"}},
		&container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	waitC, errC := cli.ContainerWait(ctx, cr.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waitC:
	case err := <-errC:
		t.Fatal(err)
	}
	b := sandbox.NewImageBuilder(cli)
	_, err = b.RunHelper(ctx, sandbox.HelperSpec{Image: image, Cmd: []string{"true"}, NetworkOf: cr.ID, Labels: map[string]string{label: "1"}}, io.Discard)
	if !errors.Is(err, sandbox.ErrNotRunning) {
		t.Fatalf("helper of a stopped container: %v, want ErrNotRunning", err)
	}
}
