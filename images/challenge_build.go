package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// ChallengeImage is a challenge-shipped sandbox image: the build context
// image/ of a challenge directory and the tag it is built under
// (challenges.ChallengeImageRef).
type ChallengeImage struct {
	Context string // directory holding Dockerfile
	Ref     string // opsdojo/challenge-<id>:<content hash>
}

// BuildChallenge builds a challenge's own image when it is not present.
// Its FROM images must be allowed (allowed reports it: opsdojo/* or the
// operator's --allowed-images) and already on the Docker host; nothing is
// ever pulled, and the build runs with no network (RUN steps cannot
// download: copy what the image needs into image/ or use a base that has
// it). A refused FROM is reported as Dockerfile:line.
func (b *Builder) BuildChallenge(ctx context.Context, ci ChallengeImage, allowed func(string) bool, force bool) (string, error) {
	if !force {
		if _, err := b.docker.ImageInspect(ctx, ci.Ref); err == nil {
			fmt.Fprintf(b.out, "==> %s is up to date\n", ci.Ref)
			return "up-to-date", nil
		}
	}
	dfPath := filepath.Join(ci.Context, "Dockerfile")
	if err := b.checkChallengeBases(ctx, dfPath, allowed); err != nil {
		return "", err
	}
	fmt.Fprintf(b.out, "==> building %s from %s (no network)\n", ci.Ref, ci.Context)
	ctxTar, err := tarDir(ci.Context)
	if err != nil {
		return "", err
	}
	resp, err := b.docker.ImageBuild(ctx, ctxTar, build.ImageBuildOptions{
		Tags:        []string{ci.Ref},
		Labels:      map[string]string{"io.opsdojo.image": "challenge"},
		NetworkMode: "none",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", ci.Ref, err)
	}
	defer resp.Body.Close()
	if err := streamBuild(resp.Body, b.out, ci.Ref); err != nil {
		return "", fmt.Errorf("build %s from %s: %w", ci.Ref, dfPath, err)
	}
	fmt.Fprintf(b.out, "==> built %s\n", ci.Ref)
	return "built", nil
}

// checkChallengeBases refuses FROM images that are not allowed or not
// present locally, and variables in FROM (the base must be visible here).
func (b *Builder) checkChallengeBases(ctx context.Context, dfPath string, allowed func(string) bool) error {
	src, err := os.ReadFile(dfPath)
	if err != nil {
		return fmt.Errorf("read %s: %w", dfPath, err)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return fmt.Errorf("%s: %w", dfPath, err)
	}
	// The daemon's classic builder fetches ADD <url> on the host's
	// network whatever NetworkMode says, and its older parser reads
	// heredoc lines as instructions: refuse both (COPY does not fetch).
	for _, n := range res.AST.Children {
		switch {
		case strings.EqualFold(n.Value, "add"):
			return fmt.Errorf("%s:%d: ADD is not allowed in a challenge image (it can fetch URLs, which the build would do on the host's network): use COPY with files in image/", dfPath, n.StartLine)
		case strings.EqualFold(n.Value, "onbuild"):
			return fmt.Errorf("%s:%d: ONBUILD is not allowed in a challenge image", dfPath, n.StartLine)
		case len(n.Heredocs) > 0:
			return fmt.Errorf("%s:%d: heredocs (<<EOF) are not allowed in a challenge image: put the script in image/ and COPY it", dfPath, n.StartLine)
		}
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", dfPath, err)
	}
	seen := map[string]bool{}
	for i, st := range stages {
		line := 0
		if len(st.Location) > 0 {
			line = st.Location[0].Start.Line
		}
		base := st.BaseName
		switch {
		case seen[strings.ToLower(base)] || base == "scratch":
		case strings.Contains(base, "$"):
			return fmt.Errorf("%s:%d: FROM %s: name the base image literally (no variables) so it can be checked", dfPath, line, base)
		case !allowed(base):
			return fmt.Errorf("%s:%d: FROM %s is not allowed: a challenge image builds FROM an image opsdojo builds (opsdojo/<name>, e.g. opsdojo/shell:latest) or one the operator allows with --allowed-images; nothing is pulled", dfPath, line, base)
		default:
			if _, err := b.docker.ImageInspect(ctx, base); err != nil {
				if errdefs.IsNotFound(err) {
					hint := "load it on the Docker host first"
					if name, ok := strings.CutPrefix(base, "opsdojo/"); ok {
						name, _, _ = strings.Cut(name, ":")
						hint = "build it first: opsdojo images build " + name
					}
					return fmt.Errorf("%s:%d: FROM %s is not on the Docker host (nothing is pulled); %s", dfPath, line, base, hint)
				}
				return fmt.Errorf("%s:%d: inspect %s: %w", dfPath, line, base, err)
			}
		}
		for _, cmd := range st.Commands {
			if c, ok := cmd.(*instructions.CopyCommand); ok && c.From != "" && !seen[strings.ToLower(c.From)] {
				l := line
				if loc := c.Location(); len(loc) > 0 {
					l = loc[0].Start.Line
				}
				return fmt.Errorf("%s:%d: COPY --from=%s: only an earlier stage may be copied from in a challenge image (FROM it as a stage first)", dfPath, l, c.From)
			}
		}
		if st.Name != "" {
			seen[strings.ToLower(st.Name)] = true
		}
		seen[strconv.Itoa(i)] = true // COPY --from=<index> of an earlier stage
	}
	return nil
}

// Presence answers whether an image is on the Docker host
// (challenges.ImageChecker).
type Presence struct {
	Docker interface {
		ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	}
}

// ImageExists reports whether ref is present; an error means Docker could
// not answer.
func (p Presence) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := p.Docker.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	default:
		return false, err
	}
}
