package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/images"
	"github.com/opsdojo/opsdojo/sandbox"
)

// lintImageChecker connects to Docker for lint's image check. Without
// Docker it returns a checker whose every answer is an error, so lint warns
// that images could not be checked instead of failing.
func lintImageChecker(ctx context.Context, app *cli) challenges.ImageChecker {
	dc, err := newDockerClient()
	if err != nil {
		return unreachable{err}
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := sandbox.NewPinger(dc).Ping(pctx); err != nil {
		_ = dc.Close()
		return unreachable{fmt.Errorf("Docker is not reachable: %w", err)}
	}
	// The client lives as long as the lint command.
	context.AfterFunc(ctx, func() { _ = dc.Close() })
	return images.Presence{Docker: dc}
}

type unreachable struct{ err error }

func (u unreachable) ImageExists(context.Context, string) (bool, error) { return false, u.err }

// lintImage checks that c's sandbox image is on the Docker host: a missing
// image is a problem (1), an unchecked one a warning on stderr (0).
func lintImage(ctx context.Context, app *cli, dir string, c *challenges.Challenge, ic challenges.ImageChecker) int {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := challenges.CheckSandboxImage(cctx, c, ic)
	if p != nil {
		p.File = filepath.Join(dir, challenges.SpecFile) // as lint's other problems
	}
	switch {
	case errors.Is(err, challenges.ErrImageUnchecked):
		fmt.Fprintf(app.stderr, "warning: %s\n", p.String())
		return 0
	case p != nil:
		fmt.Fprintln(app.stdout, p.String())
		return 1
	}
	return 0
}
