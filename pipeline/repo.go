package pipeline

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Repository limits.
const (
	MaxRepoBytes = 64 << 20 // content of all files of a repository
	MaxRepoFiles = 20000
)

// RepoFile is one file of a Repo.
type RepoFile struct {
	Mode    fs.FileMode // permission bits (0755 for executables)
	Content []byte
}

// Repo is a repository's files in memory, by slash path relative to its
// root. Jobs get a copy of it (actions/checkout); mutations change a clone.
type Repo struct {
	Name  string // last element of the directory, used as GITHUB_REPOSITORY's name
	Files map[string]RepoFile
	// Prepare, when set, is a bash script run as the runner user in the
	// staged copy of the repository in every job container before the
	// steps (grading mutations use it).
	Prepare string
}

// Clone returns a copy whose file map can be changed independently.
func (r *Repo) Clone() *Repo {
	return &Repo{Name: r.Name, Files: maps.Clone(r.Files), Prepare: r.Prepare}
}

// ReadRepo reads dir into memory, skipping .git. Symlinks and special
// files are skipped; the size is bounded by MaxRepoBytes and MaxRepoFiles.
func ReadRepo(dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("pipeline: read repository %s: %w", dir, err)
	}
	r := &Repo{Name: filepath.Base(abs), Files: map[string]RepoFile{}}
	var total int64
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		if total > MaxRepoBytes || len(r.Files) >= MaxRepoFiles {
			return fmt.Errorf("repository larger than %d bytes or %d files", MaxRepoBytes, MaxRepoFiles)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r.Files[rel] = RepoFile{Mode: info.Mode().Perm(), Content: b}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: read repository %s: %w", dir, err)
	}
	return r, nil
}

// RepoFromTar reads a tar stream (as sandbox CopyOut returns it: entries
// under one top directory, stripped when strip is set).
func RepoFromTar(name string, rd io.Reader, strip bool) (*Repo, error) {
	r := &Repo{Name: name, Files: map[string]RepoFile{}}
	tr := tar.NewReader(rd)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: read repository archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if strip {
			_, rest, ok := strings.Cut(p, "/")
			if !ok {
				continue
			}
			p = rest
		}
		if p == "." || strings.HasPrefix(p, "../") || path.IsAbs(p) || p == ".git" || strings.HasPrefix(p, ".git/") {
			continue
		}
		total += h.Size
		if total > MaxRepoBytes || len(r.Files) >= MaxRepoFiles {
			return nil, fmt.Errorf("pipeline: repository larger than %d bytes or %d files", MaxRepoBytes, MaxRepoFiles)
		}
		b, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil {
			return nil, fmt.Errorf("pipeline: read %s from the archive: %w", p, err)
		}
		r.Files[p] = RepoFile{Mode: fs.FileMode(h.Mode).Perm(), Content: b}
	}
	return r, nil
}

// tarUnder returns a tar of the repository's files under dir (a relative
// directory name, created with its parents' entries), owned by uid:gid.
func (r *Repo) tarUnder(dir string, uid, gid int) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Files get the time of the checkout: a zero mtime (1970) breaks tools
	// such as zipfile, which refuses timestamps before 1980.
	now := time.Now()
	dirs := map[string]bool{}
	addDir := func(d string) error {
		if d == "." || d == "" || dirs[d] {
			return nil
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, Uid: uid, Gid: gid, ModTime: now})
	}
	if err := addDir(dir); err != nil {
		return nil, err
	}
	for _, p := range slices.Sorted(maps.Keys(r.Files)) {
		f := r.Files[p]
		full := path.Join(dir, p)
		var parents []string
		for d := path.Dir(full); d != "." && d != dir && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := addDir(parents[i]); err != nil {
				return nil, err
			}
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: full, Mode: int64(mode), Size: int64(len(f.Content)), Uid: uid, Gid: gid, ModTime: now}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
