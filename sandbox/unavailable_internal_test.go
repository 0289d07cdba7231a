package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/client"

	"github.com/opsdojo/opsdojo/apperr"
)

// TestDaemonUnreachableIsUnavailable: a daemon that cannot be reached is
// classified by the client's error type (not its text) as ErrUnavailable,
// code unavailable, and what users read names neither the socket nor the
// daemon's message.
func TestDaemonUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "no-docker.sock")
	cli, err := client.NewClientWithOpts(client.WithHost("unix://"+sock), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	_, perr := cli.Ping(context.Background())
	if perr == nil {
		t.Fatal("ping of a missing socket succeeded")
	}
	err = fmt.Errorf("start sandbox for nginx: %w", unavailable(fmt.Errorf("create container: %w", perr)))
	if !errors.Is(err, ErrUnavailable) || apperr.ErrorCode(err) != apperr.Unavailable {
		t.Fatalf("not classified as unavailable: %v (code %q)", err, apperr.ErrorCode(err))
	}
	if msg := apperr.ErrorMessage(err); strings.Contains(msg, sock) || strings.Contains(msg, "Cannot connect") {
		t.Fatalf("the message leaks the daemon's detail: %q", msg)
	}
	if !strings.Contains(apperr.Cause(err), sock) {
		t.Fatalf("the cause for the logs lost the daemon's detail: %q", apperr.Cause(err))
	}
	other := errors.New("No such image: x")
	if unavailable(other) != other {
		t.Fatal("other errors must pass through unchanged")
	}
}
