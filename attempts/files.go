package attempts

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// FileSandboxes reads and writes files in sandboxes (the editor).
type FileSandboxes interface {
	CopyOut(ctx context.Context, id, path string, maxBytes int64) (io.ReadCloser, error)
	CopyIn(ctx context.Context, id, dstDir string, tar io.Reader) error
}

// Errors of the editor.
var (
	ErrNotEditable = apperr.New(apperr.Invalid, "this file is not one of the challenge's editable files")
	ErrTooLarge    = apperr.New(apperr.TooLarge, fmt.Sprintf("the file is larger than %d KiB", challenges.MaxFileSize>>10))
)

// EditableFile is a file the editor shows.
type EditableFile struct {
	Path     string `json:"path"`
	Language string `json:"language"`
}

// Files lists the attempt's editable files.
func (s *Service) Files(a *Attempt) ([]EditableFile, error) {
	ch, err := s.challengeFor(a)
	if err != nil {
		return nil, err
	}
	out := make([]EditableFile, 0, len(ch.Spec.Files))
	for _, f := range ch.StarterFiles() {
		out = append(out, EditableFile{Path: f.Path, Language: f.Language})
	}
	return out, nil
}

func (s *Service) editable(a *Attempt, p string) (challenges.SandboxFile, error) {
	ch, err := s.challengeFor(a)
	if err != nil {
		return challenges.SandboxFile{}, err
	}
	for _, f := range ch.StarterFiles() {
		if f.Path == path.Clean(p) {
			return f, nil
		}
	}
	return challenges.SandboxFile{}, fmt.Errorf("%s: %w", p, ErrNotEditable)
}

// ReadFile returns an editable file's current content in the sandbox.
func (s *Service) ReadFile(ctx context.Context, a *Attempt, p string) ([]byte, error) {
	if _, err := s.editable(a, p); err != nil {
		return nil, err
	}
	if a.SandboxID == "" {
		return nil, ErrNoSandbox
	}
	if a.State == StateActive {
		if err := s.Resume(ctx, a); err != nil {
			return nil, err
		}
	}
	fs, ok := s.sb.(FileSandboxes)
	if !ok {
		return nil, errors.New("file access is not available")
	}
	rc, err := fs.CopyOut(ctx, a.SandboxID, path.Clean(p), challenges.MaxFileSize+1)
	if errors.Is(err, sandbox.ErrNoSuchPath) {
		return []byte{}, nil // deleted in the shell: an empty editor
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s is not a regular file in the sandbox (it is a %s)", p, typeName(hdr.Typeflag))
	}
	if hdr.Size > challenges.MaxFileSize {
		return nil, ErrTooLarge
	}
	return io.ReadAll(io.LimitReader(tr, challenges.MaxFileSize))
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeDir:
		return "directory"
	}
	return "special file"
}

// WriteFile saves an editable file into the sandbox, owned by the candidate.
func (s *Service) WriteFile(ctx context.Context, a *Attempt, p string, content []byte) error {
	if err := s.active(a); err != nil {
		return err
	}
	f, err := s.editable(a, p)
	if err != nil {
		return err
	}
	if err := s.Resume(ctx, a); err != nil {
		return err
	}
	if len(content) > challenges.MaxFileSize {
		return ErrTooLarge
	}
	fsb, ok := s.sb.(FileSandboxes)
	if !ok {
		return errors.New("file access is not available")
	}
	mode := fs.FileMode(f.Mode)
	if mode == 0 {
		mode = 0o644
	}
	uid := 1000
	if ch, err := s.challengeFor(a); err == nil && ch.Sandbox.User == "root" {
		uid = 0
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	clean := path.Clean(f.Path)
	if err := tw.WriteHeader(&tar.Header{Name: path.Base(clean), Mode: int64(mode), Size: int64(len(content)), Uid: uid, Gid: uid, ModTime: s.now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(content); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := fsb.CopyIn(ctx, a.SandboxID, path.Dir(clean), &buf); err != nil {
		return fmt.Errorf("save %s: %w", p, err)
	}
	s.sb.Touch(a.SandboxID)
	return nil
}

// Deadline is when the attempt's time is up: its deadline when set,
// else start plus the challenge's time limit.
func (s *Service) Deadline(a *Attempt) time.Time {
	if a.DeadlineAt != nil {
		return *a.DeadlineAt
	}
	if ch, err := s.challengeFor(a); err == nil {
		return a.StartedAt.Add(ch.TimeLimit.D())
	}
	return a.StartedAt
}
