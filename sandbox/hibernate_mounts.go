package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/docker/docker/errdefs"
)

// Docker mounts /etc/hosts, /etc/resolv.conf and /etc/hostname into every
// container from files of its own, so `docker commit` does not keep them: a
// candidate's fix there (an /etc/hosts entry is a classic one) would be
// lost to a hibernation. carryDaemonFiles copies them into the container's
// own layer (below hibernateStash) before the commit; restoreDaemonFiles
// writes them back over the new container's mounts and removes the stash.

// daemonFiles are the files the daemon mounts into every container.
var daemonFiles = []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}

// hibernateStash holds the daemonFiles inside a committed image.
const hibernateStash = "/.opsdojo-hibernate"

// maxDaemonFile bounds each carried file.
const maxDaemonFile = 1 << 20

// carryDaemonFiles stashes the daemonFiles of container id in its layer.
func (m *Manager) carryDaemonFiles(ctx context.Context, id string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: hibernateStash[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o700}); err != nil {
		return err
	}
	for _, p := range daemonFiles {
		data, err := m.readDaemonFile(ctx, id, p)
		if err != nil {
			return err
		}
		if data == nil {
			continue
		}
		hdr := &tar.Header{Name: hibernateStash[1:] + "/" + path.Base(p), Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(data))}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := m.copyIn(ctx, id, "/", &buf); err != nil {
		return fmt.Errorf("sandbox: stash %s: %w", strings.Join(daemonFiles, ", "), err)
	}
	return nil
}

// readDaemonFile reads one regular file of container id through the
// daemon; nil when it is missing or not a regular file.
func (m *Manager) readDaemonFile(ctx context.Context, id, p string) ([]byte, error) {
	rc, _, err := m.cli.CopyFromContainer(ctx, id, p)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("sandbox: read %s: %w", p, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("sandbox: read %s: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, nil
	}
	if hdr.Size > maxDaemonFile {
		return nil, fmt.Errorf("sandbox: %s is %d bytes (at most %d are kept across a hibernation)", p, hdr.Size, maxDaemonFile)
	}
	data, err := io.ReadAll(io.LimitReader(tr, maxDaemonFile))
	if err != nil {
		return nil, fmt.Errorf("sandbox: read %s: %w", p, err)
	}
	return data, nil
}

// restoreDaemonScript writes the stashed files back over the daemon's
// mounts (root owns them: no capability needed) and removes the stash.
const restoreDaemonScript = `set -e
d=` + hibernateStash + `
[ -d "$d" ] || exit 0
for f in hosts resolv.conf hostname; do
	if [ -f "$d/$f" ]; then cat "$d/$f" > "/etc/$f"; fi
done
rm -rf "$d"
`

// restoreDaemonFiles puts the stashed daemonFiles back in container id.
func (m *Manager) restoreDaemonFiles(ctx context.Context, id string, env []string) error {
	res, err := m.exec(ctx, id, []string{"sh", "-c", restoreDaemonScript}, execParams{
		user: "root", env: env, timeout: m.cfg.ExecTimeout, maxOutput: 4096,
	})
	if err != nil {
		return err
	}
	if res.TimedOut || res.ExitCode != 0 {
		return errors.New("sandbox: restoring " + strings.Join(daemonFiles, ", ") + " failed: " + tail(res.Stdout, res.Stderr))
	}
	return nil
}
