package sandbox

import (
	"context"

	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/opsdojo/opsdojo/apperr"
)

// ErrUnavailable is returned when the Docker daemon cannot be reached: no
// sandbox can start or be reached until it is back. The daemon's own
// message (its socket path) is kept as the hidden cause, for the logs.
var ErrUnavailable error = apperr.New(apperr.Unavailable, "sandboxes are unavailable: the Docker daemon cannot be reached; try again in a few minutes")

// unavailable classifies err by its type, never its text: a failed
// connection to the daemon becomes ErrUnavailable (err stays reachable
// with errors.Is/As); other errors are returned as they are.
func unavailable(err error) error {
	if err != nil && client.IsErrConnectionFailed(err) {
		return apperr.Hide(ErrUnavailable, err)
	}
	return err
}

// imageMissing says whether image is absent from the Docker host, asked of
// the daemon (a create's not-found may also be about its network; the
// error's text is not read).
func (m *Manager) imageMissing(ctx context.Context, image string) bool {
	_, _, err := m.cli.ImageInspectWithRaw(ctx, image)
	return errdefs.IsNotFound(err)
}
