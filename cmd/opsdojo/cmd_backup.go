package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opsdojo/opsdojo/store"
)

// dataDirs are the folders of --data-dir a backup carries besides the
// database, by their name in the archive (serve writes recordings under
// recordings/ and uploaded challenges under challenges/).
func (cf *commonFlags) dataDirs() map[string]string {
	return map[string]string{
		"recordings": filepath.Join(*cf.dataDir, "recordings"),
		"uploads":    filepath.Join(*cf.dataDir, "challenges"),
	}
}

// runBackup writes one archive of the database (an online snapshot: the
// server may keep running), the recordings and the uploaded challenges.
func runBackup(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "backup", "backup --out FILE [flags]")
	cf := addCommonFlags(fs)
	out := fs.String("out", "", "archive to write (.tar.gz); '-' writes to standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(app.stderr, "opsdojo backup: say where with --out FILE, for example: opsdojo backup --out /var/backups/opsdojo.tar.gz")
		return errUsage
	}
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}
	st, err := cf.openStore(ctx, log)
	if err != nil {
		return friendly(err)
	}
	defer st.Close()
	opts := store.BackupOptions{Dirs: cf.dataDirs(), Version: version}
	if *out == "-" {
		_, err := st.Backup(ctx, app.stdout, opts)
		return err
	}
	// Written beside the target and renamed at the end: a failed backup
	// never leaves a truncated archive under the requested name. The
	// archive holds password hashes and recordings: owner-only.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".opsdojo-backup-*")
	if err != nil {
		return fmt.Errorf("--out %s: %w", *out, err)
	}
	defer os.Remove(tmp.Name())
	m, err := st.Backup(ctx, tmp, opts)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("--out %s: %w", *out, err)
	}
	var bytes int64
	for _, f := range m.Files {
		bytes += f.Size
	}
	fmt.Fprintf(app.stdout, "backup %s: %s database at schema version %d, %d files (%d bytes before compression)\n",
		*out, m.Dialect, m.SchemaVersion, len(m.Files), bytes)
	return nil
}

// runRestore loads an archive into an empty database and data directory
// (or over existing data with --force). The server must be stopped.
func runRestore(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "restore", "restore [flags] FILE")
	cf := addCommonFlags(fs)
	force := fs.Bool("force", false, "replace a database and data directories that already hold data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 1 { // flags after the file name: restore FILE --force
		file := rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		rest = append([]string{file}, fs.Args()...)
	}
	if len(rest) != 1 {
		fmt.Fprintln(app.stderr, "opsdojo restore: name one archive, for example: opsdojo restore --data-dir /var/lib/opsdojo opsdojo-2026-11-29.tar.gz")
		return errUsage
	}
	file := rest[0]
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer f.Close()
	m, err := store.Restore(ctx, f, store.Options{DB: *cf.db, DataDir: *cf.dataDir}, store.RestoreOptions{Dirs: cf.dataDirs(), Force: *force})
	if err != nil {
		var ce *store.ConfigError
		if errors.As(err, &ce) {
			return errors.New(ce.Msg)
		}
		return err
	}
	fmt.Fprintf(app.stdout, "restored %s: %s database at schema version %d from %s (opsdojo %s), %d files\n",
		file, m.Dialect, m.SchemaVersion, m.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), m.Version, len(m.Files))
	return nil
}
