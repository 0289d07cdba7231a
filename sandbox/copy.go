package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"

	"github.com/opsdojo/opsdojo/apperr"
)

// Copy errors.
var (
	// ErrTooLarge is returned when a copy exceeds its size cap.
	ErrTooLarge error = apperr.New(apperr.TooLarge, "sandbox: copy too large")
	// ErrNoSuchPath is returned when a copy's path does not exist in the
	// sandbox (symlinks resolved inside the container's root).
	ErrNoSuchPath error = apperr.New(apperr.NotFound, "no such path in the sandbox")
	// ErrUnsafeTar is returned by CopyIn for an entry it refuses.
	ErrUnsafeTar = errors.New("sandbox: unsafe tar entry")
)

// candidateRoots are the trees whose directories may be given to the
// owner of the files in them.
var candidateRoots = []string{"/workspace/", "/home/"}

// ownedParents lists the ancestors of p strictly below a candidate root
// (for /home/, below the user's home), outermost first.
func ownedParents(p string) []string {
	p = path.Clean(p)
	for _, root := range candidateRoots {
		if !strings.HasPrefix(p, root) {
			continue
		}
		rest := strings.TrimPrefix(p, root)
		parts := strings.Split(rest, "/")
		skip := 0
		if root == "/home/" {
			skip = 1 // the home directory itself belongs to its user already
		}
		var out []string
		cur := strings.TrimSuffix(root, "/")
		for i, part := range parts[:len(parts)-1] {
			cur += "/" + part
			if i >= skip {
				out = append(out, cur)
			}
		}
		return out
	}
	return nil
}

// tarOverhead is the slack allowed on top of maxBytes for tar headers.
const tarOverhead = 64 << 10

// filesTar builds the tar of Spec.Files (paths relative to /).
func filesTar(files []File) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		// A non-root file under the candidate's own trees gets its parent
		// directories owned too, so the candidate can add files beside it
		// (the daemon would otherwise create them as root). System
		// directories are never touched.
		if f.UID != 0 {
			for _, d := range ownedParents(f.Path) {
				if dirs[d] {
					continue
				}
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Uid: f.UID, Gid: f.GID,
					Typeflag: tar.TypeDir, ModTime: time.Now(), Format: tar.FormatPAX}); err != nil {
					return nil, fmt.Errorf("sandbox: files tar: %s: %w", d, err)
				}
			}
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{
			Name: strings.TrimPrefix(f.Path, "/"), Mode: int64(mode), Size: int64(len(f.Content)),
			Uid: f.UID, Gid: f.GID, Typeflag: tar.TypeReg, ModTime: time.Now(), Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("sandbox: files tar: %s: %w", f.Path, err)
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, fmt.Errorf("sandbox: files tar: %s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("sandbox: files tar: %w", err)
	}
	return &buf, nil
}

func (m *Manager) copyIn(ctx context.Context, id, dstDir string, r io.Reader) error {
	err := m.cli.CopyToContainer(ctx, id, dstDir, r, container.CopyToContainerOptions{})
	if err != nil {
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("sandbox: copy in %s: %w", dstDir, ErrNoSuchPath)
		}
		return fmt.Errorf("sandbox: copy in %s: %w", dstDir, err)
	}
	return nil
}

// CopyIn extracts the tar stream r into dstDir of sandbox id (as the daemon:
// ownership comes from the tar headers). Entries are checked on the way: no
// absolute or ".." names, no device nodes, and no more than
// Config.MaxCopyBytes of content. The daemon resolves dstDir and every
// symlink inside the container's root, never the host's.
func (m *Manager) CopyIn(ctx context.Context, id, dstDir string, r io.Reader) error {
	rec, err := m.lookup(id)
	if err != nil {
		return err
	}
	if !path.IsAbs(dstDir) {
		return fmt.Errorf("sandbox: copy in: destination %q is not absolute", dstDir)
	}
	pr, pw := io.Pipe()
	filtered := make(chan error, 1)
	go func() {
		ferr := filterTar(r, pw, m.cfg.MaxCopyBytes)
		pw.CloseWithError(ferr)
		filtered <- ferr
	}()
	err = m.copyIn(ctx, rec.sb.ID, dstDir, pr)
	_ = pr.CloseWithError(io.ErrClosedPipe)
	if ferr := <-filtered; errors.Is(ferr, ErrUnsafeTar) || errors.Is(ferr, ErrTooLarge) {
		return ferr // the refusal, not the daemon's view of the aborted upload
	}
	return err
}

// filterTar copies a tar stream from r to w, refusing unsafe entries.
func filterTar(r io.Reader, w io.Writer, max int64) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("sandbox: copy in: read tar: %w", err)
		}
		if err := checkTarName(hdr.Name); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeFifo:
		case tar.TypeLink:
			if err := checkTarName(hdr.Linkname); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: %s: entry type %q not allowed", ErrUnsafeTar, hdr.Name, hdr.Typeflag)
		}
		total += hdr.Size
		if total > max {
			return fmt.Errorf("%w: copy in exceeds %d bytes", ErrTooLarge, max)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("sandbox: copy in: write tar: %w", err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("sandbox: copy in: write tar: %w", err)
		}
	}
	return tw.Close()
}

func checkTarName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..") {
		return fmt.Errorf("%w: name %q", ErrUnsafeTar, name)
	}
	return nil
}

// CopyOut returns a tar stream of srcPath in sandbox id. A symlink named as
// srcPath is archived as the link itself; symlinks on the way are resolved
// inside the container's root by the daemon. Reading more than maxBytes of
// stream (Config.MaxCopyBytes when maxBytes <= 0) fails with ErrTooLarge.
func (m *Manager) CopyOut(ctx context.Context, id, srcPath string, maxBytes int64) (io.ReadCloser, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	if maxBytes <= 0 {
		maxBytes = m.cfg.MaxCopyBytes
	}
	rc, st, err := m.cli.CopyFromContainer(ctx, rec.sb.ID, srcPath)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("sandbox: copy out %s: %w", srcPath, ErrNoSuchPath)
		}
		return nil, fmt.Errorf("sandbox: copy out %s: %w", srcPath, err)
	}
	if !st.Mode.IsDir() && st.Size > maxBytes {
		rc.Close()
		return nil, fmt.Errorf("%w: %s is %d bytes, cap %d", ErrTooLarge, srcPath, st.Size, maxBytes)
	}
	return &cappedReader{rc: rc, left: maxBytes + tarOverhead}, nil
}

type cappedReader struct {
	rc   io.ReadCloser
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedReader) Close() error { return c.rc.Close() }

// Changes lists the files added, changed and deleted in sandbox id against
// its image (writable layer only; tmpfs content is not included).
func (m *Manager) Changes(ctx context.Context, id string) ([]Change, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	ch, err := m.cli.ContainerDiff(ctx, rec.sb.ID)
	if err != nil {
		return nil, fmt.Errorf("sandbox: changes: %w", err)
	}
	out := make([]Change, 0, len(ch))
	for _, c := range ch {
		kind := "C"
		switch c.Kind {
		case container.ChangeAdd:
			kind = "A"
		case container.ChangeDelete:
			kind = "D"
		}
		out = append(out, Change{Path: c.Path, Kind: kind})
	}
	return out, nil
}

// Stats reads the resource usage of sandbox id.
func (m *Manager) Stats(ctx context.Context, id string) (Stats, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return Stats{}, err
	}
	r, err := m.cli.ContainerStatsOneShot(ctx, rec.sb.ID)
	if err != nil {
		return Stats{}, fmt.Errorf("sandbox: stats: %w", err)
	}
	defer r.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
		return Stats{}, fmt.Errorf("sandbox: stats: decode: %w", err)
	}
	m.mu.Lock()
	db, di := rec.diskBytes, rec.diskInodes
	m.mu.Unlock()
	return Stats{
		CPUTotal: time.Duration(s.CPUStats.CPUUsage.TotalUsage), Memory: int64(s.MemoryStats.Usage),
		MemoryLimit: int64(s.MemoryStats.Limit), Pids: s.PidsStats.Current, DiskBytes: db, DiskInodes: di,
	}, nil
}
