// Package authoring is what challenge authors do on the server: upload a
// challenge directory (as a .tar.gz or .zip), see its lint problems with
// file:line:col, run its self-test in real sandboxes, and publish or
// unpublish it. Uploaded challenges live under their own root, which the
// catalog watches; shipped challenges cannot be overwritten by an upload.
package authoring

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
)

// Upload limits.
const (
	MaxUploadBytes   = 8 << 20  // compressed archive
	MaxUnpackedBytes = 32 << 20 // all files together
	MaxUploadFiles   = 500
)

// Errors the HTTP layer maps.
var (
	ErrBadArchive  = errors.New("not a valid challenge archive")
	ErrIDTaken     = errors.New("a shipped challenge already has this id; choose another id")
	ErrTestRunning = errors.New("a self-test of this challenge is already running")
)

// Catalog is the catalog as authoring needs it.
type Catalog interface {
	Get(id string) (*challenges.Challenge, bool)
	Reload(ctx context.Context) error
}

// Publisher stores the published flag.
type Publisher interface {
	SetPublished(ctx context.Context, id string, published bool) error
}

// SelfTester runs self-tests.
type SelfTester interface {
	Test(ctx context.Context, ch *challenges.Challenge, runs int) grader.SelfTestReport
}

// Service is the authoring domain.
type Service struct {
	uploads string // root directory of uploaded challenges
	cat     Catalog
	pub     Publisher
	tester  SelfTester
	log     *slog.Logger

	mu      sync.Mutex
	reports map[string]*TestState
}

// TestState is the latest self-test of a challenge.
type TestState struct {
	Running bool
	Started time.Time
	Report  *grader.SelfTestReport
	Text    string // the report as `challenge test` prints it
}

// New returns a Service storing uploads under uploadsDir.
func New(uploadsDir string, cat Catalog, pub Publisher, tester SelfTester, log *slog.Logger) *Service {
	return &Service{uploads: uploadsDir, cat: cat, pub: pub, tester: tester, log: log.With("component", "authoring"), reports: map[string]*TestState{}}
}

// UploadResult says what became of an upload.
type UploadResult struct {
	ID       string
	Version  string
	Problems challenges.Problems // non-empty: nothing was installed
}

// Upload unpacks an archive holding one challenge (challenge.yaml at its
// root or in a single top directory), lints it, and installs it under the
// uploads root when it is clean. Uploaded challenges start unpublished.
func (s *Service) Upload(ctx context.Context, name string, data []byte) (UploadResult, error) {
	if len(data) > MaxUploadBytes {
		return UploadResult{}, fmt.Errorf("%w: %d bytes is over the %d MiB limit", ErrBadArchive, len(data), MaxUploadBytes>>20)
	}
	tmp, err := os.MkdirTemp("", "opsdojo-upload-")
	if err != nil {
		return UploadResult{}, fmt.Errorf("upload: %w", err)
	}
	defer os.RemoveAll(tmp)
	switch {
	case strings.HasSuffix(name, ".zip"):
		err = unzip(data, tmp)
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"):
		err = untar(data, tmp)
	default:
		return UploadResult{}, fmt.Errorf("%w: %q must be a .tar.gz, .tgz or .zip of the challenge directory", ErrBadArchive, name)
	}
	if err != nil {
		return UploadResult{}, err
	}
	root, err := challengeRoot(tmp)
	if err != nil {
		return UploadResult{}, err
	}
	ch, err := challenges.Load(root)
	if err != nil {
		var ps challenges.Problems
		if errors.As(err, &ps) {
			// Report paths relative to the archive, not our temp dir.
			for i := range ps {
				if rel, rerr := filepath.Rel(tmp, ps[i].File); rerr == nil {
					ps[i].File = rel
				}
			}
			return UploadResult{Problems: ps}, nil
		}
		return UploadResult{}, err
	}
	if existing, ok := s.cat.Get(ch.ID); ok && !strings.HasPrefix(existing.Dir, s.uploadsAbs()) {
		return UploadResult{}, fmt.Errorf("%q: %w", ch.ID, ErrIDTaken)
	}
	if err := os.MkdirAll(s.uploads, 0o750); err != nil {
		return UploadResult{}, fmt.Errorf("uploads dir: %w", err)
	}
	dst := filepath.Join(s.uploads, ch.ID)
	staging := dst + ".new"
	_ = os.RemoveAll(staging)
	if err := os.Rename(root, staging); err != nil {
		if err := copyTree(root, staging); err != nil {
			return UploadResult{}, fmt.Errorf("install %s: %w", ch.ID, err)
		}
	}
	_ = os.RemoveAll(dst)
	if err := os.Rename(staging, dst); err != nil {
		return UploadResult{}, fmt.Errorf("install %s: %w", ch.ID, err)
	}
	if err := s.cat.Reload(ctx); err != nil {
		s.log.Warn("reload after upload", "err", err)
	}
	s.log.Info("challenge uploaded", "id", ch.ID, "version", ch.Version)
	return UploadResult{ID: ch.ID, Version: ch.Version}, nil
}

func (s *Service) uploadsAbs() string {
	abs, err := filepath.Abs(s.uploads)
	if err != nil {
		return s.uploads
	}
	return abs
}

// challengeRoot finds the directory with challenge.yaml: the archive root
// or its single top-level directory.
func challengeRoot(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, challenges.SpecFile)); err == nil {
		return dir, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	if len(entries) == 1 && entries[0].IsDir() {
		sub := filepath.Join(dir, entries[0].Name())
		if _, err := os.Stat(filepath.Join(sub, challenges.SpecFile)); err == nil {
			return sub, nil
		}
	}
	return "", fmt.Errorf("%w: no %s at the top of the archive (or in its single top directory)", ErrBadArchive, challenges.SpecFile)
}

// safeJoin returns dir/name, refusing absolute names and names that climb
// out of dir. It returns "" for the archive root itself.
func safeJoin(dir, name string) (string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	clean := path.Clean(n)
	if path.IsAbs(n) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%w: entry %q leaves the archive", ErrBadArchive, name)
	}
	if clean == "." {
		return "", nil
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

type budget struct{ bytes, files int64 }

func (b *budget) take(n int64) error {
	b.files++
	b.bytes += n
	if b.files > MaxUploadFiles {
		return fmt.Errorf("%w: more than %d files", ErrBadArchive, MaxUploadFiles)
	}
	if b.bytes > MaxUnpackedBytes {
		return fmt.Errorf("%w: more than %d MiB unpacked", ErrBadArchive, MaxUnpackedBytes>>20)
	}
	return nil
}

func writeFile(p string, r io.Reader, mode os.FileMode, b *budget, size int64) error {
	if err := b.take(size); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode&0o755|0o600)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadArchive, err)
	}
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(r, MaxUnpackedBytes+1))
	if err != nil {
		return err
	}
	if n > size && size >= 0 {
		return fmt.Errorf("%w: entry larger than declared", ErrBadArchive)
	}
	return nil
}

func untar(data []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not gzip: %v", ErrBadArchive, err)
	}
	tr := tar.NewReader(zr)
	b := &budget{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		p, err := safeJoin(dir, hdr.Name)
		if err != nil {
			return err
		}
		if p == "" {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o750); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(p, tr, os.FileMode(hdr.Mode), b, hdr.Size); err != nil {
				return err
			}
		default:
			// Links and devices are refused: a challenge is plain files.
			return fmt.Errorf("%w: %q is a link or special file; archives may only hold files and directories", ErrBadArchive, hdr.Name)
		}
	}
}

func unzip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: not a zip file: %v", ErrBadArchive, err)
	}
	b := &budget{}
	for _, f := range zr.File {
		p, err := safeJoin(dir, f.Name)
		if err != nil {
			return err
		}
		if p == "" {
			continue
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o750); err != nil {
				return err
			}
			continue
		}
		if !f.Mode().IsRegular() {
			return fmt.Errorf("%w: %q is a link or special file; archives may only hold files and directories", ErrBadArchive, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		err = writeFile(p, rc, f.Mode(), b, int64(f.UncompressedSize64))
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode())
	})
}

// Publish publishes or unpublishes a challenge.
func (s *Service) Publish(ctx context.Context, id string, published bool) error {
	if _, ok := s.cat.Get(id); !ok && published {
		return fmt.Errorf("challenge %q is not loaded (fix its lint problems first)", id)
	}
	return s.pub.SetPublished(ctx, id, published)
}

// StartSelfTest runs the self-test of id in the background; TestStateOf
// reports it.
func (s *Service) StartSelfTest(ctx context.Context, id string, runs int) error {
	ch, ok := s.cat.Get(id)
	if !ok {
		return fmt.Errorf("challenge %q is not loaded", id)
	}
	s.mu.Lock()
	if st := s.reports[id]; st != nil && st.Running {
		s.mu.Unlock()
		return ErrTestRunning
	}
	st := &TestState{Running: true, Started: time.Now()}
	s.reports[id] = st
	s.mu.Unlock()
	go func() {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Minute)
		defer cancel()
		rep := s.tester.Test(tctx, ch, runs)
		var buf bytes.Buffer
		grader.WriteReport(&buf, rep, ch)
		s.mu.Lock()
		st.Running, st.Report, st.Text = false, &rep, buf.String()
		s.mu.Unlock()
		s.log.Info("self-test finished", "id", id, "ok", rep.OK(), "took", rep.Duration)
	}()
	return nil
}

// TestStateOf returns the latest self-test of id (nil if none).
func (s *Service) TestStateOf(id string) *TestState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.reports[id]
	if st == nil {
		return nil
	}
	cp := *st
	return &cp
}
