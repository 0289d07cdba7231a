package challenges

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// A challenge ships its own sandbox image by writing `sandbox.image: build`
// and a Docker build context in ImageDir (image/Dockerfile and the files
// it copies). Loading resolves it to ChallengeImageRef(id, hash of the
// context), so an edit of the context makes a new tag and a new version.
const (
	// BuildImage is the sandbox.image value meaning "build image/Dockerfile".
	BuildImage = "build"
	// ImageDir is the build context of a challenge-shipped image.
	ImageDir = "image"
	// maxImageContext bounds the build context read at load time.
	maxImageContext = 16 << 20
)

// ChallengeImageRef is the tag a challenge-shipped image is built under.
func ChallengeImageRef(id, hash string) string {
	return "opsdojo/challenge-" + id + ":" + hash
}

// BuildsImage reports whether the challenge ships its own image (its
// spec says `sandbox.image: build`); Sandbox.Image is then the resolved
// tag and ImageContext the build context directory.
func (c *Challenge) BuildsImage() bool {
	n := sandboxImageNode(c.Raw)
	return n != nil && strings.TrimSpace(n.Value) == BuildImage
}

// ImageContext is the directory `opsdojo images build --challenge` builds.
func (c *Challenge) ImageContext() string { return filepath.Join(c.Dir, ImageDir) }

// resolveBuildImage hashes the build context and sets sb.Image to its tag.
func (l *loader) resolveBuildImage(s *Spec) {
	dir := filepath.Join(l.abs, ImageDir)
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		l.errf("sandbox.image", "%q needs a Dockerfile at %s/Dockerfile in the challenge directory (its build context is %s/)", BuildImage, ImageDir, ImageDir)
		return
	}
	files := map[string][]byte{}
	var total int
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			if e.IsDir() || e.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			return fmt.Errorf("%s is a symlink; the build context must hold regular files", p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if total += len(b); total > maxImageContext {
			return fmt.Errorf("build context is larger than %d MiB", maxImageContext>>20)
		}
		rel, _ := filepath.Rel(l.abs, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		l.errf("sandbox.image", "read %s/: %v", ImageDir, err)
		return
	}
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
		l.files[name] = files[name]
	}
	if !idRe.MatchString(s.ID) {
		return // reported at id
	}
	s.Sandbox.Image = ChallengeImageRef(s.ID, hex.EncodeToString(h.Sum(nil))[:12])
}

// ImageChecker tells whether an image is present on the Docker host. The
// command line implements it with the Docker API; challenges never talks
// to Docker itself.
type ImageChecker interface {
	ImageExists(ctx context.Context, ref string) (bool, error)
}

// ErrImageUnchecked wraps the checker's error when the image could not be
// checked (no Docker): lint reports it as a warning, not a problem.
var ErrImageUnchecked = errors.New("sandbox image not checked")

// CheckSandboxImage reports a problem at sandbox.image when the image is
// not on the Docker host, with the command that builds it. It returns an
// error wrapping ErrImageUnchecked when the checker fails.
func CheckSandboxImage(ctx context.Context, c *Challenge, ic ImageChecker) (*Problem, error) {
	p := Problem{File: filepath.Join(c.Dir, SpecFile)}
	if n := sandboxImageNode(c.Raw); n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	ok, err := ic.ImageExists(ctx, c.Sandbox.Image)
	if err != nil {
		p.Msg = fmt.Sprintf("sandbox.image: %q could not be checked: %v", c.Sandbox.Image, err)
		return &p, fmt.Errorf("%w: %s", ErrImageUnchecked, p.String())
	}
	if ok {
		return nil, nil
	}
	p.Msg = fmt.Sprintf("sandbox.image: %q is not on the Docker host (the server never pulls); %s", c.Sandbox.Image, BuildHint(c))
	return &p, nil
}

// BuildHint is the command (or the step) that makes c's image.
func BuildHint(c *Challenge) string {
	switch {
	case c.BuildsImage():
		return "build it with: opsdojo images build --challenge " + c.Dir
	case IsOpsdojoImage(c.Sandbox.Image):
		name := strings.TrimPrefix(c.Sandbox.Image, "opsdojo/")
		name, _, _ = strings.Cut(name, ":")
		return "build it with: opsdojo images build " + name
	default:
		return "load it on the Docker host (docker load or docker build -t " + c.Sandbox.Image + ")"
	}
}

// sandboxImageNode finds the sandbox.image scalar in challenge.yaml.
func sandboxImageNode(raw []byte) *yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	find := func(m *yaml.Node, key string) *yaml.Node {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1]
			}
		}
		return nil
	}
	n := find(find(doc.Content[0], "sandbox"), "image")
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil
	}
	return n
}
