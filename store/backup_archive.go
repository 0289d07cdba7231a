package store

// The backup archive: a gzip-compressed tar holding
//
//	database/opsdojo.db | database/opsdojo.pgdump   the snapshot (backup.go)
//	recordings/…, uploads/…                        the data directories
//	manifest.json                                  last: format, version, dialect,
//	                                               schema version, time, SHA-256 of every file
//
// Restore extracts into a staging directory, verifies every checksum and
// the schema version before it touches the target, refuses a target that
// holds data unless forced, then moves everything into place and applies
// the migrations this binary has that the backup had not.

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// BackupFormat is the archive layout version this binary writes and reads.
const BackupFormat = 1

const (
	manifestName = "manifest.json"
	databaseDir  = "database"
)

// Manifest describes an archive.
type Manifest struct {
	Format        int            `json:"format"`
	Version       string         `json:"opsdojo_version"`
	Dialect       string         `json:"dialect"`
	SchemaVersion int64          `json:"schema_version"`
	CreatedAt     time.Time      `json:"created_at"`
	Database      string         `json:"database"` // archive path of the snapshot
	Files         []ManifestFile `json:"files"`
}

// ManifestFile is one file of the archive and its checksum.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// BackupOptions say what goes into an archive besides the database.
type BackupOptions struct {
	// Dirs maps an archive folder ("recordings", "uploads") to the local
	// directory copied into it; a directory that does not exist is
	// recorded as empty. Only regular files are copied (no symlinks).
	Dirs map[string]string
	// Version is the opsdojo version written into the manifest.
	Version string
}

// Backup writes an archive of the open database and opts.Dirs to w. The
// database is snapshotted while the store stays open and serving.
func (s *Store) Backup(ctx context.Context, w io.Writer, opts BackupOptions) (*Manifest, error) {
	version, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.MkdirTemp("", "opsdojo-backup-*")
	if err != nil {
		return nil, fmt.Errorf("backup: staging directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	snap, err := s.snapshot(ctx, tmp)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m := &Manifest{Format: BackupFormat, Version: opts.Version, Dialect: s.dialect, SchemaVersion: version,
		CreatedAt: time.Now().UTC().Truncate(time.Second), Database: databaseDir + "/" + snap}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if err := addFile(tw, m, filepath.Join(tmp, snap), m.Database); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	for _, folder := range sortedKeys(opts.Dirs) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if err := addTree(ctx, tw, m, opts.Dirs[folder], folder); err != nil {
			return nil, fmt.Errorf("backup %s: %w", folder, err)
		}
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(body)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if _, err := tw.Write(body); err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: finish archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("backup: finish archive: %w", err)
	}
	return m, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// addTree adds every regular file under dir as folder/<relative path>.
func addTree(ctx context.Context, tw *tar.Writer, m *Manifest, dir, folder string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll // nothing to back up yet
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return addFile(tw, m, p, folder+"/"+filepath.ToSlash(rel))
	})
	return err
}

// addFile adds the local file src as name, hashing what it writes. A file
// still growing (a live recording) is copied up to the size it had when
// the copy began.
func addFile(tw *tar.Writer, m *Manifest, src, name string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(tw, h), f, st.Size()); err != nil {
		return fmt.Errorf("archive %s: %w (did it shrink while being copied?)", src, err)
	}
	m.Files = append(m.Files, ManifestFile{Path: name, Size: st.Size(), SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// RestoreOptions say where an archive's folders go and whether data in the
// target may be replaced.
type RestoreOptions struct {
	// Dirs maps an archive folder ("recordings", "uploads") to the local
	// directory it is restored into.
	Dirs map[string]string
	// Force replaces a database and directories that already hold data.
	Force bool
}

// ReadManifest extracts the archive at r into a new staging directory
// under parent and verifies it: every file's size and SHA-256 against the
// manifest, nothing missing or extra. The caller removes the directory.
func ReadManifest(r io.Reader, parent string) (*Manifest, string, error) {
	stage, err := os.MkdirTemp(parent, ".opsdojo-restore-*")
	if err != nil {
		return nil, "", fmt.Errorf("staging directory in %s: %w", parent, err)
	}
	m, err := extractAndVerify(r, stage)
	if err != nil {
		_ = os.RemoveAll(stage)
		return nil, "", err
	}
	return m, stage, nil
}

func extractAndVerify(r io.Reader, stage string) (*Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not an opsdojo backup (gzip): %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	got := map[string]ManifestFile{}
	var body []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		name, err := archivePath(hdr.Name)
		if err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("archive entry %q: only regular files are allowed", hdr.Name)
		}
		if name == manifestName {
			if body, err = io.ReadAll(io.LimitReader(tr, 64<<20)); err != nil {
				return nil, fmt.Errorf("read manifest: %w", err)
			}
			continue
		}
		dst := filepath.Join(stage, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("extract %s: %w", name, err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("extract %s: %w", name, err)
		}
		got[name] = ManifestFile{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	if body == nil {
		return nil, errors.New("archive has no manifest.json: not an opsdojo backup, or cut short")
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if m.Format != BackupFormat {
		return nil, fmt.Errorf("backup format %d: this opsdojo reads format %d", m.Format, BackupFormat)
	}
	var problems []string
	for _, f := range m.Files {
		g, ok := got[f.Path]
		switch {
		case !ok:
			problems = append(problems, f.Path+": missing from the archive")
		case g.Size != f.Size || g.SHA256 != f.SHA256:
			problems = append(problems, fmt.Sprintf("%s: checksum mismatch (manifest %d bytes sha256 %s, archive %d bytes sha256 %s)", f.Path, f.Size, f.SHA256, g.Size, g.SHA256))
		}
		delete(got, f.Path)
	}
	for p := range got {
		problems = append(problems, p+": in the archive but not in the manifest")
	}
	if _, ok := findFile(m.Files, m.Database); !ok && m.Database != "" {
		problems = append(problems, m.Database+": database snapshot not listed")
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("backup is damaged or was altered: %s", strings.Join(problems, "; "))
	}
	return &m, nil
}

func findFile(files []ManifestFile, p string) (ManifestFile, bool) {
	for _, f := range files {
		if f.Path == p {
			return f, true
		}
	}
	return ManifestFile{}, false
}

// archivePath checks an entry name stays inside the archive.
func archivePath(name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if name == "" || path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(name, "\\") {
		return "", fmt.Errorf("archive entry %q leaves the archive", name)
	}
	return clean, nil
}

// Restore loads the archive at r into the database opts names and into
// ro.Dirs. It verifies the archive completely before changing anything,
// refuses (ErrNotEmpty) a database or directory that holds data unless
// ro.Force, and ends by migrating the restored database up to this
// binary's schema. The server must not be running on the target.
func Restore(ctx context.Context, r io.Reader, opts Options, ro RestoreOptions) (*Manifest, error) {
	t, err := ResolveTarget(opts)
	if err != nil {
		return nil, err
	}
	parent := os.TempDir()
	if t.Dialect == DialectSQLite {
		parent = filepath.Dir(t.Display) // same filesystem: the snapshot is renamed into place
		if err := ensureWritableDir(parent); err != nil {
			return nil, err
		}
	}
	m, stage, err := ReadManifest(r, parent)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(stage)
	if m.Dialect != t.Dialect {
		return nil, fmt.Errorf("restore: the backup is of a %s database and the target is %s; restore it into a %s database (--db)", m.Dialect, t.Dialect, m.Dialect)
	}
	latest, err := LatestSchemaVersion(t.Dialect)
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion > latest {
		return nil, fmt.Errorf("restore: the backup is at schema version %d, newer than this opsdojo knows (%d); restore it with opsdojo %s or later", m.SchemaVersion, latest, m.Version)
	}
	staged := filepath.Join(stage, filepath.FromSlash(m.Database))
	if t.Dialect == DialectSQLite {
		if err := checkSQLiteSnapshot(ctx, staged, m.SchemaVersion); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}

	// Refuse a target with data before anything is changed.
	st, err := Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	full, err := nonEmptyTables(ctx, st.sqlDB, t.Dialect)
	_ = st.Close()
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	var busy []string
	if len(full) > 0 {
		busy = append(busy, fmt.Sprintf("database %s has data (tables %s)", t.Display, strings.Join(full, ", ")))
	}
	for _, folder := range sortedKeys(ro.Dirs) {
		if ents, err := os.ReadDir(ro.Dirs[folder]); err == nil && len(ents) > 0 {
			busy = append(busy, fmt.Sprintf("%s directory %s is not empty", folder, ro.Dirs[folder]))
		}
	}
	if len(busy) > 0 && !ro.Force {
		return nil, fmt.Errorf("%w: %s; restore into an empty database and data directory, or pass --force to replace them", ErrNotEmpty, strings.Join(busy, "; "))
	}

	if err := restoreDatabase(ctx, t, staged); err != nil {
		return nil, fmt.Errorf("restore database: %w", err)
	}
	for _, folder := range sortedKeys(ro.Dirs) {
		if err := replaceDir(filepath.Join(stage, folder), ro.Dirs[folder]); err != nil {
			return nil, fmt.Errorf("restore %s: %w", folder, err)
		}
	}
	st, err = Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("restore: reopen: %w", err)
	}
	defer st.Close()
	if v, err := st.SchemaVersion(ctx); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	} else if v != m.SchemaVersion {
		return nil, fmt.Errorf("restore: the restored database is at schema version %d, the manifest says %d", v, m.SchemaVersion)
	}
	if _, err := st.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("restore: migrate the restored database: %w", err)
	}
	return m, nil
}

// replaceDir makes dst hold exactly what src (staged) holds; a src that
// does not exist (the folder was empty) leaves dst empty.
func replaceDir(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dst, 0o750)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	// Another filesystem: copy.
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			_ = out.Close()
			return err
		}
		return out.Close()
	})
}
