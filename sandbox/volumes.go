package sandbox

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Volume is a small, sized, writable filesystem mounted at Path in the
// sandbox, for disk-full scenarios: a tmpfs with a size and an inode count
// (no loop device, no host directory, nothing left behind). Its pages are
// charged to the sandbox's memory limit, and like /tmp it starts empty
// again when a hibernated sandbox is restored. Files cannot be copied into
// it at create time (the daemon writes beneath a tmpfs): setup fills it.
type Volume struct {
	Path   string // absolute, clean; not /, not under /proc, /sys, /dev, not /tmp or /var/tmp
	Size   int64  // bytes, MinVolumeSize..MaxVolumeSize, at most the sandbox's memory
	Inodes int64  // nr_inodes; 0 = DefaultVolumeInodes
	Mode   uint32 // octal permission bits of its root (up to 07777); 0 = 01777 (like /tmp)
}

// Volume limits.
const (
	MinVolumeSize       = 1 << 20
	MaxVolumeSize       = 1 << 30
	DefaultVolumeInodes = 4096
	MaxVolumeInodes     = 1 << 20
	MaxVolumes          = 4
)

// checkVolumes validates s.Volumes against the baseline and fills defaults.
func checkVolumes(s *Spec) error {
	if len(s.Volumes) > MaxVolumes {
		return fmt.Errorf("%w: %d volumes, at most %d", ErrBaseline, len(s.Volumes), MaxVolumes)
	}
	var seen []string
	for i := range s.Volumes {
		v := &s.Volumes[i]
		p := v.Path
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return fmt.Errorf("%w: volume path %q must be absolute, clean and not /", ErrBaseline, p)
		}
		for _, t := range append(slices.Clone(tmpfsPaths), "/dev", "/proc", "/sys") {
			if p == t || strings.HasPrefix(p, t+"/") {
				return fmt.Errorf("%w: volume path %q is under %s (a tmpfs or kernel filesystem already)", ErrBaseline, p, t)
			}
		}
		for _, o := range seen {
			if p == o || strings.HasPrefix(p, o+"/") || strings.HasPrefix(o, p+"/") {
				return fmt.Errorf("%w: volumes %q and %q overlap", ErrBaseline, o, p)
			}
		}
		seen = append(seen, p)
		if v.Size < MinVolumeSize || v.Size > MaxVolumeSize || v.Size > s.Memory {
			return fmt.Errorf("%w: volume %s size %d outside [1MiB, min(1GiB, memory %d)]", ErrBaseline, p, v.Size, s.Memory)
		}
		if v.Inodes == 0 {
			v.Inodes = DefaultVolumeInodes
		}
		if v.Inodes < 1 || v.Inodes > MaxVolumeInodes {
			return fmt.Errorf("%w: volume %s inodes %d outside [1, %d]", ErrBaseline, p, v.Inodes, MaxVolumeInodes)
		}
		if v.Mode == 0 {
			v.Mode = 0o1777
		}
		if v.Mode > 0o7777 {
			return fmt.Errorf("%w: volume %s mode %o is not a permission", ErrBaseline, p, v.Mode)
		}
	}
	for _, f := range s.Files {
		for _, v := range s.Volumes {
			if f.Path == v.Path || strings.HasPrefix(f.Path, v.Path+"/") {
				return fmt.Errorf("%w: file path %q is in volume %s, which the daemon cannot copy into (setup can write it)", ErrBaseline, f.Path, v.Path)
			}
		}
	}
	return nil
}

// tmpfsOptions are v's mount options.
func (v Volume) tmpfsOptions() string {
	return fmt.Sprintf("rw,nosuid,nodev,size=%d,nr_inodes=%d,mode=%o", v.Size, v.Inodes, v.Mode)
}
