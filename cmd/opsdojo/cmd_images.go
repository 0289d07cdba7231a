package main

import (
	"context"
	"fmt"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/images"
	"github.com/opsdojo/opsdojo/sandbox"
)

func runImages(ctx context.Context, app *cli, args []string) error {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(app.stderr, "Usage: opsdojo images build [--offline] [--force] [--dir DIR] [NAME…] | images build --challenge DIR [--allowed-images PATTERNS]")
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
	chDir := fs.String("challenge", "", "build the sandbox image a challenge ships (sandbox.image: build, DIR/image/Dockerfile) instead of library images")
	allowedImages := fs.String("allowed-images", "", "with --challenge: comma-separated patterns of images its Dockerfile may build FROM besides opsdojo/<name> (as serve --allowed-images); nothing is pulled")
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
	if *chDir != "" {
		ch, err := challenges.LoadWith(*chDir, challenges.LoadOptions{AllowedImages: splitList(*allowedImages)})
		if err != nil {
			return err
		}
		b := images.NewBuilder(dc, nil, log, app.stdout)
		_, err = buildChallengeImage(ctx, b, ch, splitList(*allowedImages), *force)
		return err
	}
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

// buildChallengeImage builds the image a challenge ships (sandbox.image:
// build) unless it is present; bases are opsdojo/* or match allowed.
func buildChallengeImage(ctx context.Context, b *images.Builder, ch *challenges.Challenge, allowed []string, force bool) (string, error) {
	if !ch.BuildsImage() {
		return "", fmt.Errorf("%s: sandbox.image is %q, not %q: this challenge ships no image to build (opsdojo images build %s builds library images)", ch.Dir, ch.Sandbox.Image, challenges.BuildImage, ch.Sandbox.Image)
	}
	opts := challenges.LoadOptions{AllowedImages: allowed}
	return b.BuildChallenge(ctx, images.ChallengeImage{Context: ch.ImageContext(), Ref: ch.Sandbox.Image}, opts.SandboxImageAllowed, force)
}

// challengeImages is authoring's ImageBuilder over the images builder:
// uploaded challenges that ship an image get it built before their
// self-test (wired in the composition root with SetImageBuilder).
type challengeImages struct {
	b       *images.Builder
	allowed []string // the operator's --allowed-images
}

func (c challengeImages) BuildChallengeImage(ctx context.Context, ch *challenges.Challenge) error {
	_, err := buildChallengeImage(ctx, c.b, ch, c.allowed, false)
	return err
}
