package challenges

import "strings"

// Volume limits (those of the sandbox: sandbox.checkVolumes).
const (
	MinVolumeSize   = Size(1 << 20)
	MaxVolumeSize   = Size(1 << 30)
	MaxVolumes      = 4
	MaxVolumeInodes = 1 << 20
)

// validateVolumes checks sandbox.volumes so that a challenge that lints
// also starts.
func (l *loader) validateVolumes(s *Spec) {
	vols := s.Sandbox.Volumes
	if len(vols) > MaxVolumes {
		l.errf("sandbox.volumes", "at most %d volumes, got %d", MaxVolumes, len(vols))
	}
	memory := s.Sandbox.Resources.Memory
	if memory == 0 {
		memory = DefaultMemory
	}
	seen := map[string]string{}
	for i, v := range vols {
		p := index("sandbox.volumes", i)
		if l.required(join(p, "path"), "the mount point in the sandbox is required") && l.sandboxPath(join(p, "path"), v.Path) {
			for _, t := range []string{"/tmp", "/var/tmp", "/dev", "/proc", "/sys"} {
				if v.Path == t || strings.HasPrefix(v.Path, t+"/") {
					l.errf(join(p, "path"), "%s is under %s, a tmpfs or kernel filesystem already", v.Path, t)
				}
			}
			if v.Path == "/" {
				l.errf(join(p, "path"), "cannot be /")
			}
			for o, op := range seen {
				if o == v.Path || strings.HasPrefix(v.Path, o+"/") || strings.HasPrefix(o, v.Path+"/") {
					l.errf(join(p, "path"), "overlaps %s (%s)", o, op)
				}
			}
			seen[v.Path] = p
			for j, f := range s.Files {
				if f.Path == v.Path || strings.HasPrefix(f.Path, v.Path+"/") {
					l.errf(join(index("files", j), "path"), "%s is in volume %s, which starts empty: write it from setup", f.Path, v.Path)
				}
			}
		}
		if l.required(join(p, "size"), "a size such as 32Mi is required") && (v.Size < MinVolumeSize || v.Size > MaxVolumeSize || v.Size > memory) {
			l.errf(join(p, "size"), "must be between %s and %s and at most the sandbox memory (%s), got %s", MinVolumeSize, MaxVolumeSize, memory, v.Size)
		}
		if l.has(join(p, "inodes")) && (v.Inodes < 1 || v.Inodes > MaxVolumeInodes) {
			l.errf(join(p, "inodes"), "must be between 1 and %d, got %d", MaxVolumeInodes, v.Inodes)
		}
	}
}
