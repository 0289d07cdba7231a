package sandbox

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"
)

// NewClient connects to dockerd from the environment (DOCKER_HOST,
// DOCKER_TLS_VERIFY…) with API-version negotiation, so a 20.10 daemon (API
// 1.41) works. The client is what NewManager, NewImageBuilder and the
// images package take; close it when done.
func NewClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// Pinger reports whether dockerd answers (negotiating the API version on
// its first success): the server's readiness check and the commands' first
// call.
type Pinger struct{ cli *client.Client }

// NewPinger returns a Pinger on cli.
func NewPinger(cli *client.Client) Pinger { return Pinger{cli: cli} }

// Ping asks the daemon; the error names its address.
func (p Pinger) Ping(ctx context.Context) error {
	if _, err := p.cli.Ping(ctx); err != nil {
		return fmt.Errorf("docker daemon at %s unreachable: %w", p.cli.DaemonHost(), err)
	}
	return nil
}
