// Package images builds opsdojo's sandbox images from
// library/images/<name>/Dockerfile, online (bases pulled from a
// registry) or offline (bases made locally with debootstrap and imported).
//
// Each image directory holds a Dockerfile that starts with `ARG BASE=<public
// image>` and `FROM ${BASE}`. Optional directives in leading comments:
//
//	# opsdojo:name python:3.11-slim   build under this name instead of opsdojo/<dir>:latest
//	# opsdojo:standin                 an offline stand-in for a public image: built only
//	                                  when that image is neither present nor pullable
//
// An image is rebuilt only when its content hash (files of its directory,
// the base image's ID and the build args) differs from the hash label on
// the existing image.
package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// HashLabel is the image label holding the content hash.
const HashLabel = "io.opsdojo.image.hash"

// Docker is the part of the Docker API the builder uses.
type Docker interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	ImageImport(ctx context.Context, source image.ImportSource, ref string, options image.ImportOptions) (io.ReadCloser, error)
}

// Bootstrapper makes a base image locally, without a registry.
type Bootstrapper interface {
	// CanMake reports whether ref is a base this bootstrapper can create.
	CanMake(ref string) bool
	// Make creates ref in the daemon.
	Make(ctx context.Context, ref string, progress io.Writer) error
}

// Definition is one image directory.
type Definition struct {
	Dir     string // directory with the Dockerfile
	Name    string // image reference to build, e.g. opsdojo/shell:latest
	Base    string // default of ARG BASE
	StandIn bool   // only built when Name cannot be had otherwise
	WantsCA bool   // declares ARG EXTRA_CA_CERTS
}

// Options control a build.
type Options struct {
	// Offline never contacts a registry: missing bases are bootstrapped.
	Offline bool
	// Force rebuilds even when the hash label matches.
	Force bool
	// Only restricts the build to these names (dir names or image refs).
	Only []string
	// ExtraCACerts is PEM text of extra CA certificates (a corporate TLS
	// proxy's) passed to Dockerfiles that declare ARG EXTRA_CA_CERTS, so
	// HTTPS downloads during the build trust the same CAs as the host.
	ExtraCACerts string
}

// Builder builds image definitions.
type Builder struct {
	docker Docker
	boot   Bootstrapper
	log    *slog.Logger
	out    io.Writer
}

// NewBuilder returns a Builder printing progress to out.
func NewBuilder(docker Docker, boot Bootstrapper, log *slog.Logger, out io.Writer) *Builder {
	return &Builder{docker: docker, boot: boot, log: log.With("component", "images"), out: out}
}

// Discover reads every <root>/<name>/Dockerfile, ordered so that an image
// used as another's base is built first.
func Discover(root string) ([]Definition, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read images dir %s: %w", root, err)
	}
	var defs []Definition
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, "Dockerfile"), err)
		}
		d, err := parseDefinition(dir, e.Name(), df)
		if err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	return order(defs), nil
}

func parseDefinition(dir, name string, dockerfile []byte) (Definition, error) {
	d := Definition{Dir: dir, Name: "opsdojo/" + name + ":latest"}
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(t, "# opsdojo:name "):
			d.Name = strings.TrimSpace(strings.TrimPrefix(t, "# opsdojo:name "))
		case t == "# opsdojo:standin":
			d.StandIn = true
		case strings.HasPrefix(strings.ToUpper(t), "ARG EXTRA_CA_CERTS"):
			d.WantsCA = true
		case strings.HasPrefix(strings.ToUpper(t), "ARG BASE="):
			if d.Base == "" {
				d.Base = strings.Trim(strings.TrimSpace(t[len("ARG BASE="):]), `"'`)
			}
		}
	}
	if d.Base == "" {
		return d, fmt.Errorf("%s: missing `ARG BASE=<image>` before FROM ${BASE}; every image takes its base as a build argument so it can be built offline", filepath.Join(dir, "Dockerfile"))
	}
	return d, nil
}

// order puts images whose base is another definition after that one.
func order(defs []Definition) []Definition {
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	byName := map[string]int{}
	for i, d := range defs {
		byName[d.Name] = i
	}
	var out []Definition
	done := map[int]bool{}
	var visit func(i int, depth int)
	visit = func(i int, depth int) {
		if done[i] || depth > len(defs) {
			return
		}
		if j, ok := byName[defs[i].Base]; ok && j != i {
			visit(j, depth+1)
		}
		if !done[i] {
			done[i] = true
			out = append(out, defs[i])
		}
	}
	for i := range defs {
		visit(i, 0)
	}
	return out
}

// Result says what happened to one definition.
type Result struct {
	Name   string
	Action string // built | up-to-date | present (a stand-in's image was already there)
}

// Build builds defs in order.
func (b *Builder) Build(ctx context.Context, defs []Definition, opts Options) ([]Result, error) {
	standIns := map[string]Definition{}
	for _, d := range defs {
		if d.StandIn {
			standIns[d.Name] = d
		}
	}
	var results []Result
	for _, d := range defs {
		if len(opts.Only) > 0 && !selected(d, opts.Only) {
			continue
		}
		if d.StandIn {
			// A stand-in (python:3.11-slim, golang:…) is what candidate
			// Dockerfiles build FROM: make sure the image is there — pulled
			// online, built from the stand-in only when it cannot be had.
			_, err := b.docker.ImageInspect(ctx, d.Name)
			present := err == nil
			if err := b.ensureBase(ctx, d.Name, standIns, opts, 0); err != nil {
				return results, err
			}
			action := "built"
			if present {
				action = "present"
				fmt.Fprintf(b.out, "==> %s is present\n", d.Name)
			}
			results = append(results, Result{Name: d.Name, Action: action})
			continue
		}
		if err := b.ensureBase(ctx, d.Base, standIns, opts, 0); err != nil {
			return results, err
		}
		action, err := b.buildOne(ctx, d, opts)
		if err != nil {
			return results, err
		}
		results = append(results, Result{Name: d.Name, Action: action})
	}
	return results, nil
}

func selected(d Definition, only []string) bool {
	for _, o := range only {
		if o == d.Name || o == filepath.Base(d.Dir) {
			return true
		}
	}
	return false
}

// ensureBase makes sure ref exists locally: present, else pulled (online),
// else built from a stand-in definition, else bootstrapped.
func (b *Builder) ensureBase(ctx context.Context, ref string, standIns map[string]Definition, opts Options, depth int) error {
	if depth > 8 {
		return fmt.Errorf("base image chain too deep at %s", ref)
	}
	if _, err := b.docker.ImageInspect(ctx, ref); err == nil {
		return nil
	}
	if !opts.Offline {
		fmt.Fprintf(b.out, "==> pulling base %s\n", ref)
		if err := b.pull(ctx, ref); err == nil {
			return nil
		} else {
			fmt.Fprintf(b.out, "    cannot pull %s (%v); making it locally (offline mode)\n", ref, err)
		}
	}
	if d, ok := standIns[ref]; ok {
		if err := b.ensureBase(ctx, d.Base, standIns, opts, depth+1); err != nil {
			return err
		}
		fmt.Fprintf(b.out, "==> %s is not available: building the local stand-in from %s\n", ref, d.Dir)
		_, err := b.buildOne(ctx, d, opts)
		return err
	}
	if b.boot != nil && b.boot.CanMake(ref) {
		fmt.Fprintf(b.out, "==> creating base %s locally (debootstrap + docker import)\n", ref)
		return b.boot.Make(ctx, ref, b.out)
	}
	return fmt.Errorf("base image %s is not present, cannot be pulled, and opsdojo cannot make it offline; load it with `docker load` or change ARG BASE", ref)
}

func (b *Builder) pull(ctx context.Context, ref string) error {
	rc, err := b.docker.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	return jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
}

// Hash is the content hash of a definition built on a base image ID.
func Hash(d Definition, baseID string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "name=%s\nbase=%s\nbase-id=%s\n", d.Name, d.Base, baseID)
	err := filepath.WalkDir(d.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(d.Dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := e.Info()
		fmt.Fprintf(h, "file=%s mode=%o size=%d\n", filepath.ToSlash(rel), info.Mode().Perm(), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", d.Dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

func (b *Builder) buildOne(ctx context.Context, d Definition, opts Options) (string, error) {
	base, err := b.docker.ImageInspect(ctx, d.Base)
	if err != nil {
		return "", fmt.Errorf("inspect base %s of %s: %w", d.Base, d.Name, err)
	}
	hash, err := Hash(d, base.ID)
	if err != nil {
		return "", err
	}
	args := map[string]*string{"BASE": &d.Base}
	if d.WantsCA && opts.ExtraCACerts != "" {
		ca := opts.ExtraCACerts
		args["EXTRA_CA_CERTS"] = &ca
		sum := sha256.Sum256([]byte(ca))
		hash = hash[:16] + hex.EncodeToString(sum[:])[:16]
	}
	if existing, err := b.docker.ImageInspect(ctx, d.Name); err == nil && !opts.Force && existing.Config != nil && existing.Config.Labels[HashLabel] == hash {
		fmt.Fprintf(b.out, "==> %s is up to date (%s)\n", d.Name, hash[:12])
		return "up-to-date", nil
	}
	fmt.Fprintf(b.out, "==> building %s from %s (base %s)\n", d.Name, d.Dir, d.Base)
	ctxTar, err := tarDir(d.Dir)
	if err != nil {
		return "", err
	}
	resp, err := b.docker.ImageBuild(ctx, ctxTar, build.ImageBuildOptions{
		Tags:        []string{d.Name},
		BuildArgs:   args,
		Labels:      map[string]string{HashLabel: hash, "io.opsdojo.image": "true"},
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", d.Name, err)
	}
	defer resp.Body.Close()
	if err := streamBuild(resp.Body, b.out, d.Name); err != nil {
		return "", fmt.Errorf("build %s: %w", d.Name, err)
	}
	fmt.Fprintf(b.out, "==> built %s (%s)\n", d.Name, hash[:12])
	return "built", nil
}

// streamBuild prints the build's step lines prefixed with the image name and
// returns the build's error, if any.
func streamBuild(r io.Reader, out io.Writer, name string) error {
	dec := json.NewDecoder(r)
	prefix := "    [" + name + "] "
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		s := strings.TrimRight(m.Stream, "\n")
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, "Step ") || strings.HasPrefix(line, "Successfully") || strings.HasPrefix(line, "E: ") {
				fmt.Fprintln(out, prefix+line)
			}
		}
	}
}

func tarDir(dir string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pack build context %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
