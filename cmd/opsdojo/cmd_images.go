package main

import (
	"context"
	"fmt"
	"time"

	"github.com/opsdojo/opsdojo/images"
	"github.com/opsdojo/opsdojo/sandbox"
)

func runImages(ctx context.Context, app *cli, args []string) error {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(app.stderr, "Usage: opsdojo images build [--offline] [--force] [--dir DIR] [NAME…]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return errHelp
		}
		return errUsage
	}
	fs := newFlagSet(app, "images build", "images build [flags] [NAME…]")
	cf := addCommonFlags(fs)
	offline := fs.Bool("offline", false, "never contact a registry: make missing base images locally with debootstrap (needs root)")
	force := fs.Bool("force", false, "rebuild even when an image is up to date")
	dir := fs.String("images-dir", "library/images", "directory holding <name>/Dockerfile image definitions")
	caDir := fs.String("ca-certs-dir", "/usr/local/share/ca-certificates", "extra CA certificates (*.crt) handed to builds that declare ARG EXTRA_CA_CERTS, for TLS-intercepting proxies")
	mirror := fs.String("debian-mirror", "", "Debian mirror for the offline base (default: the host's apt sources)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}
	dc, err := newDockerClient()
	if err != nil {
		return err
	}
	defer dc.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := sandbox.NewPinger(dc).Ping(pctx); err != nil {
		cancel()
		return fmt.Errorf("%w\n  fix: start dockerd (scripts/setup-host.sh does it) or set DOCKER_HOST", err)
	}
	cancel()
	defs, err := images.Discover(*dir)
	if err != nil {
		return err
	}
	boot := &images.Debootstrap{Docker: dc, Mirror: *mirror}
	b := images.NewBuilder(dc, boot, log, app.stdout)
	start := time.Now()
	res, err := b.Build(ctx, defs, images.Options{Offline: *offline, Force: *force, Only: fs.Args(), ExtraCACerts: images.HostExtraCACerts(*caDir)})
	if err != nil {
		return err
	}
	built := 0
	for _, r := range res {
		if r.Action == "built" {
			built++
		}
	}
	fmt.Fprintf(app.stdout, "images: %d built, %d already up to date, in %s\n", built, len(res)-built, time.Since(start).Round(100*time.Millisecond))
	return nil
}
