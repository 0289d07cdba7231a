package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestSizedVolume: a sandbox's volume is a filesystem of its own with the
// declared size and inode count, writable by the candidate (mode 1777),
// that fills up (ENOSPC) at its size and at its inode count, while the
// rest of the sandbox stays writable.
func TestSizedVolume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image, Volumes: []Volume{{Path: "/var/log/app", Size: 4 << 20, Inodes: 64}}})
	t.Cleanup(func() { _ = m.Remove(context.Background(), sb.ID) })

	res := run(t, ctx, m, sb.ID, "", `stat -f -c '%b %S %c' /var/log/app; stat -c '%a %U' /var/log/app; findmnt -n -o FSTYPE /var/log/app`, 10*time.Second)
	var blocks, bsize, inodes int64
	var mode, owner, fstype string
	if _, err := fmt.Sscan(string(res.Stdout), &blocks, &bsize, &inodes, &mode, &owner, &fstype); err != nil || res.ExitCode != 0 {
		t.Fatalf("stat: %v %q %q", err, res.Stdout, res.Stderr)
	}
	if blocks*bsize != 4<<20 || inodes != 64 || mode != "1777" || owner != "root" || fstype != "tmpfs" {
		t.Fatalf("volume: %d bytes, %d inodes, mode %s owner %s type %s; want 4 MiB, 64, 1777 root tmpfs", blocks*bsize, inodes, mode, owner, fstype)
	}
	res = run(t, ctx, m, sb.ID, "", `dd if=/dev/zero of=/var/log/app/big bs=1M count=8 2>&1; echo rc=$?`, 20*time.Second)
	if out := string(res.Stdout); !strings.Contains(out, "No space left on device") || !strings.Contains(out, "rc=1") {
		t.Fatalf("filling the size: %q", out)
	}
	res = run(t, ctx, m, sb.ID, "", `rm -f /var/log/app/big; n=0; for i in $(seq 1 100); do touch /var/log/app/f$i 2>/dev/null || break; n=$i; done; echo $n; echo ok > ~/elsewhere && echo writable`, 20*time.Second)
	if out := strings.Fields(string(res.Stdout)); len(out) != 2 || out[0] == "100" || out[0] == "0" || out[1] != "writable" {
		t.Fatalf("filling the inodes: %q %q", res.Stdout, res.Stderr)
	}
}

// TestVolumeRejects: volumes that would cover system paths, overlap, be
// bigger than the memory or hold the spec's files are refused.
func TestVolumeRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := newManager(t, e, e.config(), nil)
	for _, tc := range []struct {
		name string
		s    Spec
		want string
	}{
		{"root", Spec{Volumes: []Volume{{Path: "/", Size: 1 << 20}}}, "must be absolute, clean and not /"},
		{"proc", Spec{Volumes: []Volume{{Path: "/proc/x", Size: 1 << 20}}}, "is under /proc"},
		{"tmp", Spec{Volumes: []Volume{{Path: "/tmp", Size: 1 << 20}}}, "is under /tmp"},
		{"overlap", Spec{Volumes: []Volume{{Path: "/data", Size: 1 << 20}, {Path: "/data/x", Size: 1 << 20}}}, "overlap"},
		{"too big", Spec{Memory: 64 << 20, Volumes: []Volume{{Path: "/data", Size: 128 << 20}}}, "outside [1MiB"},
		{"file inside", Spec{Files: []File{{Path: "/data/f"}}, Volumes: []Volume{{Path: "/data", Size: 1 << 20}}}, "is in volume /data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.Image = e.image
			_, err := m.normalize(tc.s)
			if !errors.Is(err, ErrBaseline) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("normalize = %v, want ErrBaseline with %q", err, tc.want)
			}
		})
	}
}
