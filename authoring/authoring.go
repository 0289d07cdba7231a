// Package authoring is what challenge authors do on the server: upload a
// challenge directory (as a .tar.gz or .zip), see its lint problems with
// file:line:col, run its self-test in real sandboxes, and publish or
// unpublish it. Uploaded challenges live under their own root, which the
// catalog watches; shipped challenges cannot be overwritten by an upload.
//
// An upload belongs to the author who first uploaded its id: the owner is
// recorded in <uploads>/.owners/<id>, a file only this package writes
// (the catalog skips dot directories, and an archive unpacks into its own
// challenge directory, never there). Another author can neither overwrite,
// publish, unpublish nor self-test it; admins can act on any.
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
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
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
	ErrBadArchive  = apperr.New(apperr.Invalid, "not a valid challenge archive")
	ErrIDTaken     = apperr.New(apperr.Conflict, "a shipped challenge already has this id; choose another id")
	ErrTestRunning = apperr.New(apperr.Conflict, "a self-test of this challenge is already running")
	ErrNotOwner    = apperr.New(apperr.Forbidden, "this challenge was uploaded by another author; only they or an admin can change it")

	errNotLoaded      = apperr.New(apperr.NotFound, "is not loaded")
	errNotPublishable = apperr.New(apperr.Conflict, "is not loaded (fix its lint problems first)")
)

// Actor is who asks: owners are recorded by user id, admins may act on any
// upload.
type Actor struct {
	UserID string
	Admin  bool
}

// ownersDir holds one file per uploaded challenge id with its owner's user
// id. A dot directory: the catalog does not look into it.
const ownersDir = ".owners"

// idRe is the challenge id syntax (challenges/validate.go); an id that does
// not match cannot be an upload, and is never joined to a path.
var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)

// Catalog is the catalog as authoring needs it.
type Catalog interface {
	Get(id string) (*challenges.Challenge, bool)
	Reload(ctx context.Context) error
	// LoadDir loads a challenge directory with the catalog's rules (the
	// operator's allowed sandbox images among them).
	LoadDir(dir string) (*challenges.Challenge, error)
}

// Publisher stores the published flag.
type Publisher interface {
	SetPublished(ctx context.Context, id string, published bool) error
}

// SelfTester runs self-tests.
type SelfTester interface {
	Test(ctx context.Context, ch *challenges.Challenge, runs int) grader.SelfTestReport
}

// ImageBuilder builds the sandbox image a challenge ships (`sandbox.image:
// build`, image/Dockerfile) when it is not on the Docker host yet.
type ImageBuilder interface {
	BuildChallengeImage(ctx context.Context, ch *challenges.Challenge) error
}

// Service is the authoring domain.
type Service struct {
	uploads string // root directory of uploaded challenges
	cat     Catalog
	pub     Publisher
	tester  SelfTester
	images  ImageBuilder // nil: challenge-shipped images are not built here
	log     *slog.Logger

	mu      sync.Mutex
	reports map[string]*TestState

	// installMu serialises the owner check and the install of uploads, so
	// two authors racing for one id cannot both pass the check.
	installMu sync.Mutex
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

// SetImageBuilder makes self-tests build a challenge-shipped image first
// when it is missing (call before serving).
func (s *Service) SetImageBuilder(b ImageBuilder) { s.images = b }

// UploadResult says what became of an upload.
type UploadResult struct {
	ID       string
	Version  string
	Problems challenges.Problems // non-empty: nothing was installed
}

// Upload unpacks an archive holding one challenge (challenge.yaml at its
// root or in a single top directory), lints it, and installs it under the
// uploads root when it is clean. Uploaded challenges start unpublished.
// The first upload of an id records by as its owner; a later upload of the
// same id by another author (not an admin) fails with ErrNotOwner.
//
// Every message it returns names files relative to the archive: the
// server's temp and uploads directories never reach the author.
func (s *Service) Upload(ctx context.Context, by Actor, name string, data []byte) (UploadResult, error) {
	if len(data) > MaxUploadBytes {
		return UploadResult{}, fmt.Errorf("%w: %d bytes is over the %d MiB limit", ErrBadArchive, len(data), MaxUploadBytes>>20)
	}
	tmp, err := os.MkdirTemp("", "opsdojo-upload-")
	if err != nil {
		return UploadResult{}, fmt.Errorf("upload: %w", err)
	}
	defer os.RemoveAll(tmp)
	res, err := s.upload(ctx, by, name, data, tmp)
	roots := []string{tmp}
	if real, rerr := filepath.EvalSymlinks(tmp); rerr == nil && real != tmp {
		roots = append(roots, real)
	}
	for i := range res.Problems {
		res.Problems[i].Msg = RelativePaths(res.Problems[i].Msg, roots...)
		res.Problems[i].File = RelativePaths(res.Problems[i].File, roots...)
	}
	if err != nil {
		if msg := RelativePaths(err.Error(), append(roots, s.uploadsAbs(), s.uploads)...); msg != err.Error() {
			err = &relativeError{msg: msg, err: err}
		}
	}
	return res, err
}

// relativeError shows a message with server paths made relative, and
// keeps the original error for errors.Is.
type relativeError struct {
	msg string
	err error
}

func (e *relativeError) Error() string { return e.msg }
func (e *relativeError) Unwrap() error { return e.err }

func (s *Service) upload(ctx context.Context, by Actor, name string, data []byte, tmp string) (UploadResult, error) {
	var err error
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
	ch, err := s.cat.LoadDir(root)
	if err != nil {
		var ps challenges.Problems
		if errors.As(err, &ps) {
			// Files relative to the archive, messages relative to the
			// challenge (Upload then removes any temp path left).
			for i := range ps {
				if rel, rerr := filepath.Rel(tmp, ps[i].File); rerr == nil {
					ps[i].File = rel
				}
				ps[i].Msg = RelativePaths(ps[i].Msg, root)
			}
			return UploadResult{Problems: ps}, nil
		}
		return UploadResult{}, err
	}
	if existing, ok := s.cat.Get(ch.ID); ok && !strings.HasPrefix(existing.Dir, s.uploadsAbs()+string(filepath.Separator)) {
		return UploadResult{}, fmt.Errorf("%q: %w", ch.ID, ErrIDTaken)
	}
	if !idRe.MatchString(ch.ID) {
		return UploadResult{}, fmt.Errorf("%w: id %q is not a valid challenge id", ErrBadArchive, ch.ID)
	}
	s.installMu.Lock()
	defer s.installMu.Unlock()
	if err := s.authorize(ch.ID, by); err != nil {
		return UploadResult{}, fmt.Errorf("upload %q: %w", ch.ID, err)
	}
	if err := os.MkdirAll(s.uploads, 0o750); err != nil {
		return UploadResult{}, fmt.Errorf("uploads dir: %w", err)
	}
	if owner, err := s.OwnerOf(ch.ID); err != nil {
		return UploadResult{}, err
	} else if owner == "" {
		if err := s.recordOwner(ch.ID, by.UserID); err != nil {
			return UploadResult{}, err
		}
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

// cleanName is an entry name as a clean slash path ("a/b/" -> "a/b").
func cleanName(name string) string {
	return path.Clean(strings.ReplaceAll(name, "\\", "/"))
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

// entries remembers what each path of an archive is, so that one path used
// both as a file and as a directory (in either order), or a file given
// twice, is refused by name before the file system says something about
// our temp directory.
type entries struct {
	files, dirs map[string]bool
}

func newEntries() *entries { return &entries{files: map[string]bool{}, dirs: map[string]bool{}} }

// add records entry name (clean is its cleaned slash path).
func (e *entries) add(name, clean string, dir bool) error {
	for p := path.Dir(clean); p != "." && p != "/"; p = path.Dir(p) {
		if e.files[p] {
			return fmt.Errorf("%w: entry %q is inside %q, which is a file in the archive", ErrBadArchive, name, p)
		}
		e.dirs[p] = true
	}
	switch {
	case e.files[clean]:
		return fmt.Errorf("%w: entry %q appears twice in the archive", ErrBadArchive, name)
	case !dir && e.dirs[clean]:
		return fmt.Errorf("%w: entry %q is a file, but the archive also has a directory %q", ErrBadArchive, name, clean)
	case dir:
		e.dirs[clean] = true
	default:
		e.files[clean] = true
	}
	return nil
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

func writeFile(name, p string, r io.Reader, mode os.FileMode, b *budget, size int64) error {
	if err := b.take(size); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, name, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode&0o755|0o600)
	if err != nil {
		return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, name, err)
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
	seen := newEntries()
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
		if hdr.Typeflag == tar.TypeDir || hdr.Typeflag == tar.TypeReg {
			if err := seen.add(hdr.Name, cleanName(hdr.Name), hdr.Typeflag == tar.TypeDir); err != nil {
				return err
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o750); err != nil {
				return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, hdr.Name, err)
			}
		case tar.TypeReg:
			if err := writeFile(hdr.Name, p, tr, os.FileMode(hdr.Mode), b, hdr.Size); err != nil {
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
	seen := newEntries()
	for _, f := range zr.File {
		p, err := safeJoin(dir, f.Name)
		if err != nil {
			return err
		}
		if p == "" {
			continue
		}
		if f.FileInfo().IsDir() {
			if err := seen.add(f.Name, cleanName(f.Name), true); err != nil {
				return err
			}
			if err := os.MkdirAll(p, 0o750); err != nil {
				return fmt.Errorf("%w: entry %q: %v", ErrBadArchive, f.Name, err)
			}
			continue
		}
		if !f.Mode().IsRegular() {
			return fmt.Errorf("%w: %q is a link or special file; archives may only hold files and directories", ErrBadArchive, f.Name)
		}
		if err := seen.add(f.Name, cleanName(f.Name), false); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadArchive, err)
		}
		err = writeFile(f.Name, p, rc, f.Mode(), b, int64(f.UncompressedSize64))
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

// Publish publishes or unpublishes a challenge. An upload can be
// (un)published only by its owner or an admin (ErrNotOwner).
func (s *Service) Publish(ctx context.Context, by Actor, id string, published bool) error {
	if err := s.authorize(id, by); err != nil {
		return fmt.Errorf("publish %q: %w", id, err)
	}
	if _, ok := s.cat.Get(id); !ok && published {
		return fmt.Errorf("challenge %q: %w", id, errNotPublishable)
	}
	return s.pub.SetPublished(ctx, id, published)
}

// StartSelfTest runs the self-test of id in the background; TestStateOf
// reports it. An upload can be self-tested only by its owner or an admin
// (ErrNotOwner): self-tests start real sandboxes.
func (s *Service) StartSelfTest(ctx context.Context, by Actor, id string, runs int) error {
	if err := s.authorize(id, by); err != nil {
		return fmt.Errorf("self-test %q: %w", id, err)
	}
	ch, ok := s.cat.Get(id)
	if !ok {
		return fmt.Errorf("challenge %q: %w", id, errNotLoaded)
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
		var rep grader.SelfTestReport
		if err := s.buildImage(tctx, ch); err != nil {
			rep = grader.SelfTestReport{Challenge: ch.ID, Version: ch.Version, Runs: runs,
				Scenarios: []grader.Scenario{{Name: "image", Err: err.Error()}}}
		} else {
			rep = s.tester.Test(tctx, ch, runs)
		}
		relativeReport(&rep, s.challengeRoots(ch)...)
		var buf bytes.Buffer
		grader.WriteReport(&buf, rep, ch)
		s.mu.Lock()
		st.Running, st.Report, st.Text = false, &rep, buf.String()
		s.mu.Unlock()
		s.log.Info("self-test finished", "id", id, "ok", rep.OK(), "took", rep.Duration)
	}()
	return nil
}

// buildImage builds the image ch ships, if it ships one and a builder is set.
func (s *Service) buildImage(ctx context.Context, ch *challenges.Challenge) error {
	if s.images == nil || !ch.BuildsImage() {
		return nil
	}
	if err := s.images.BuildChallengeImage(ctx, ch); err != nil {
		return fmt.Errorf("build the challenge's image (image/Dockerfile): %w", err)
	}
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

// OwnerOf returns the user id that owns upload id ("" when none is
// recorded: a shipped challenge, an unknown id, or an upload from before
// owners were recorded).
func (s *Service) OwnerOf(id string) (string, error) {
	if !idRe.MatchString(id) {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(s.uploads, ownersDir, id))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("owner of %q: %w", id, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (s *Service) recordOwner(id, userID string) error {
	dir := filepath.Join(s.uploads, ownersDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("record owner of %q: %w", id, err)
	}
	tmp, err := os.CreateTemp(dir, "."+id+".*")
	if err != nil {
		return fmt.Errorf("record owner of %q: %w", id, err)
	}
	_, werr := tmp.WriteString(userID + "\n")
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("record owner of %q: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, id)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("record owner of %q: %w", id, err)
	}
	return nil
}

// authorize lets by act on challenge id: admins always; for an upload,
// only its recorded owner (an upload without a recorded owner, from an
// older version, is admin-only); shipped challenges have no owner.
func (s *Service) authorize(id string, by Actor) error {
	if by.Admin {
		return nil
	}
	owner, err := s.OwnerOf(id)
	if err != nil {
		return err
	}
	if owner != "" {
		if owner == by.UserID {
			return nil
		}
		return ErrNotOwner
	}
	if idRe.MatchString(id) {
		if _, err := os.Stat(filepath.Join(s.uploads, id)); err == nil {
			return fmt.Errorf("%w (no owner is recorded for this upload: an admin can act on it, or upload it again)", ErrNotOwner)
		}
	}
	return nil
}

// challengeRoots are the server paths that lead to ch's files: its
// directory (as loaded and with symlinks resolved) and the uploads root.
func (s *Service) challengeRoots(ch *challenges.Challenge) []string {
	roots := []string{ch.Dir}
	if real, err := filepath.EvalSymlinks(ch.Dir); err == nil && real != ch.Dir {
		roots = append(roots, real)
	}
	return append(roots, s.uploadsAbs())
}

// relativeReport rewrites the messages of a self-test report with paths
// relative to the challenge.
func relativeReport(r *grader.SelfTestReport, roots ...string) {
	for i := range r.Scenarios {
		sc := &r.Scenarios[i]
		sc.Err = RelativePaths(sc.Err, roots...)
		sc.ScriptOut = RelativePaths(sc.ScriptOut, roots...)
		for id, m := range sc.Failed {
			sc.Failed[id] = RelativePaths(m, roots...)
		}
	}
	for i, f := range r.Flaky {
		r.Flaky[i] = RelativePaths(f, roots...)
	}
}

// RelativePaths rewrites the server paths under the first root that
// matches, in messages shown to users, as paths relative to that root:
// "<root>/checks/a.sh" becomes "checks/a.sh" and "<root>" alone becomes
// ".". A path that merely starts with the same characters ("<root>x") is
// left alone. Give the most specific root first.
func RelativePaths(msg string, roots ...string) string {
	for _, root := range roots {
		root = strings.TrimRight(root, string(filepath.Separator))
		if root == "" || !strings.Contains(msg, root) {
			continue
		}
		var b strings.Builder
		rest := msg
		for {
			i := strings.Index(rest, root)
			if i < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i])
			after := rest[i+len(root):]
			switch {
			case strings.HasPrefix(after, string(filepath.Separator)):
				after = after[1:]
			case after == "" || !isPathChar(after[0]):
				b.WriteString(".")
			default:
				b.WriteString(root) // another directory sharing the prefix
			}
			rest = after
		}
		msg = b.String()
	}
	return msg
}

func isPathChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}
