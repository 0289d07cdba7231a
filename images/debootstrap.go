package images

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
)

// DefaultMirror is used when the host's apt sources name no Debian mirror.
const DefaultMirror = "http://deb.debian.org/debian"

// debianSuites maps the Debian image references we can make to a suite.
var debianSuites = map[string]string{
	"debian:bookworm":      "bookworm",
	"debian:bookworm-slim": "bookworm",
	"debian:12":            "bookworm",
	"debian:12-slim":       "bookworm",
}

// Debootstrap makes Debian base images with `debootstrap --variant=minbase`
// from the host's apt mirror and imports them with the Docker API. It needs
// root and the debootstrap program.
type Debootstrap struct {
	Docker  Docker
	Mirror  string // empty: read from the host's apt sources
	WorkDir string // where the root filesystem is made (removed after)
	// Euid returns the effective uid (os.Geteuid in production).
	Euid func() int
}

// CanMake reports whether ref is a Debian release we know.
func (d *Debootstrap) CanMake(ref string) bool {
	_, ok := debianSuites[ref]
	return ok
}

// ErrNeedsRoot says the offline bootstrap cannot run unprivileged.
var ErrNeedsRoot = errors.New("creating a base image offline runs debootstrap, which needs root: run `sudo opsdojo images build --offline`, or provide the base image with `docker load`")

// Make runs debootstrap and imports the result as ref.
func (d *Debootstrap) Make(ctx context.Context, ref string, progress io.Writer) error {
	suite, ok := debianSuites[ref]
	if !ok {
		return fmt.Errorf("cannot make %s offline: only %s are known", ref, strings.Join(knownBases(), ", "))
	}
	euid := os.Geteuid
	if d.Euid != nil {
		euid = d.Euid
	}
	if euid() != 0 {
		return ErrNeedsRoot
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("debootstrap is not installed: `apt-get install debootstrap` (scripts/setup-host.sh does it)")
	}
	mirror := d.Mirror
	if mirror == "" {
		mirror = HostDebianMirror("/etc/apt")
	}
	root, err := os.MkdirTemp(d.WorkDir, "opsdojo-rootfs-")
	if err != nil {
		return fmt.Errorf("make rootfs dir: %w", err)
	}
	defer os.RemoveAll(root)
	fmt.Fprintf(progress, "    debootstrap --variant=minbase %s %s %s\n", suite, root, mirror)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", suite, root, mirror)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	var tail []string
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			if strings.HasPrefix(line, "I: Retrieving") || strings.HasPrefix(line, "I: Base system installed") || strings.HasPrefix(line, "I: Installing core") || strings.HasPrefix(line, "E:") {
				fmt.Fprintf(progress, "    %s\n", line)
			}
		}
	}()
	err = cmd.Run()
	_ = pw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("debootstrap %s from %s failed: %w\n%s", suite, mirror, err, strings.Join(tail, "\n"))
	}
	// Slim it like the official image: no apt lists, docs or caches.
	for _, p := range []string{"var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"} {
		_ = removeContents(filepath.Join(root, p))
	}
	fmt.Fprintf(progress, "    importing %s\n", ref)
	pr2, pw2 := io.Pipe()
	go func() { pw2.CloseWithError(writeTar(root, pw2)) }()
	rc, err := d.Docker.ImageImport(ctx, image.ImportSource{Source: pr2, SourceName: "-"}, ref, image.ImportOptions{
		Message: "opsdojo offline base: debootstrap --variant=minbase " + suite,
		Changes: []string{`CMD ["bash"]`, "ENV LANG=C.UTF-8"},
	})
	if err != nil {
		_ = pr2.Close()
		return fmt.Errorf("import %s: %w", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	fmt.Fprintf(progress, "    created %s\n", ref)
	return nil
}

func knownBases() []string {
	out := make([]string, 0, len(debianSuites))
	for k := range debianSuites {
		out = append(out, k)
	}
	return out
}

func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
	return nil
}

// writeTar writes root as a tar stream, keeping owners, modes, symlinks and
// device nodes as they are (the image's root filesystem).
func writeTar(root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pack root filesystem: %w", err)
	}
	return tw.Close()
}

// HostDebianMirror returns the first Debian archive URI in the host's apt
// sources (one-line or deb822 format), or DefaultMirror.
func HostDebianMirror(aptDir string) string {
	var files []string
	files = append(files, filepath.Join(aptDir, "sources.list"))
	if m, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*")); m != nil {
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if u := mirrorFrom(string(data)); u != "" {
			return u
		}
	}
	return DefaultMirror
}

func mirrorFrom(src string) string {
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var uris []string
		switch {
		case strings.HasPrefix(line, "deb "):
			for _, f := range strings.Fields(line)[1:] {
				if strings.HasPrefix(f, "[") || strings.HasSuffix(f, "]") || strings.Contains(f, "=") {
					continue
				}
				uris = append(uris, f)
				break
			}
		case strings.HasPrefix(strings.ToLower(line), "uris:"):
			uris = strings.Fields(line[len("uris:"):])
		}
		for _, u := range uris {
			if (strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) && !strings.Contains(u, "security") {
				return strings.TrimRight(u, "/")
			}
		}
	}
	return ""
}

// HostExtraCACerts returns the PEM text of the CA certificates the host
// added locally (/usr/local/share/ca-certificates/*.crt), or "".
func HostExtraCACerts(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.crt"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
