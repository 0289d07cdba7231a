// Package sandbox is the Docker driver of opsdojo: it creates hardened,
// resource-bounded containers for candidate attempts, runs commands and
// interactive terminals in them, copies files in and out, and removes them
// when their time is up.
//
// Every container the Manager creates carries the baseline of DESIGN.md §5
// (no capabilities unless declared from an allow-list, no-new-privileges,
// default seccomp, no host namespaces, no binds, pids/memory/cpu limits,
// ulimits, tini, capped json-file logs, no network) and is inspected after
// creation: a container whose settings drifted from what was asked is removed,
// never handed out. docs/SANDBOX.md explains the choices, the disk limit in
// force and the lifecycle.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
)

// Errors callers can match with errors.Is.
var (
	// ErrCapacity is returned by Create, immediately, when the global or the
	// per-owner limit on sandboxes is reached.
	ErrCapacity error = apperr.New(apperr.Unavailable, "sandbox capacity reached")
	// ErrNotFound is returned for an unknown or already removed sandbox.
	ErrNotFound error = apperr.New(apperr.Gone, "sandbox not found")
	// ErrExpired is returned for a sandbox past its hard TTL or idle timeout.
	ErrExpired error = apperr.New(apperr.Gone, "sandbox expired")
	// ErrBaseline is returned when a spec asks for something the baseline
	// forbids (a capability outside the allow-list, limits above the maximum)
	// or when a created container drifted from the baseline.
	ErrBaseline = errors.New("sandbox baseline violation")
)

// Network modes of a Spec.
const (
	NetworkNone     = "none"     // only lo; no route anywhere (default)
	NetworkIsolated = "isolated" // a per-sandbox internal bridge, inter-container traffic off, no gateway
)

// Label keys set on every container and network the Manager creates.
const (
	LabelManaged   = "io.opsdojo.managed"
	LabelInstance  = "io.opsdojo.instance"
	LabelAttempt   = "io.opsdojo.attempt"
	LabelChallenge = "io.opsdojo.challenge"
	LabelOwner     = "io.opsdojo.owner"
	LabelExpires   = "io.opsdojo.expires"
	LabelCreated   = "io.opsdojo.created"
	LabelIdle      = "io.opsdojo.idle"
	LabelUser      = "io.opsdojo.user"
	LabelPool      = "io.opsdojo.pool"
	LabelNetwork   = "io.opsdojo.network"
	LabelProbe     = "io.opsdojo.probe"
	labelPrefix    = "io.opsdojo."
)

// Spec describes the sandbox a caller wants. Zero values take the Manager's
// defaults (Config.Defaults, Config.DefaultTTL …).
type Spec struct {
	Image       string            // e.g. "opsdojo/shell:latest"
	User        string            // candidate shell user, default "candidate"
	Hostname    string            // default "sandbox"
	CPUs        float64           // 0.5 = half a core
	Memory      int64             // bytes; swap = memory (no swap)
	Pids        int64             // process/thread limit of the container
	Disk        int64             // bytes of writable space (see docs/SANDBOX.md for how it is enforced)
	Network     string            // "none" (default) | "isolated"
	CapAdd      []string          // extra capabilities from AllowedCapabilities, e.g. NET_BIND_SERVICE
	Env         map[string]string // environment of the container and of every exec in it
	Labels      map[string]string // extra io.opsdojo.* labels
	AttemptID   string
	ChallengeID string
	OwnerID     string
	TTL         time.Duration // hard lifetime from creation
	IdleTimeout time.Duration // reaped (removed, or hibernated with Hibernate) after this long without Touch or terminal input; <0: never
	Files       []File        // copied in (as root, through the daemon) before Setup runs
	Setup       []byte        // bash script run as root before Create returns; non-zero exit = error
	// SetupTimeout bounds Setup; default Config.SetupTimeout.
	SetupTimeout time.Duration
	// Hibernate: at the idle timeout or the TTL the reaper commits the
	// sandbox's filesystem to an image and removes the container instead
	// of deleting the work; Restore brings it back (see hibernate.go).
	Hibernate bool
	// OnResume is a bash script run as root after Restore (processes do
	// not survive hibernation: a restored sandbox is like a rebooted one).
	OnResume []byte
	// Volumes are small sized writable filesystems (volumes.go).
	Volumes []Volume
}

// File is one file Create copies into the sandbox. Paths are absolute. Files
// cannot target the tmpfs mounts (/tmp, /var/tmp, /dev/shm): the daemon's copy
// writes beneath them (see docs/SANDBOX.md).
type File struct {
	Path     string
	Mode     fs.FileMode
	UID, GID int
	Content  []byte
}

// Sandbox is a created sandbox as the Manager tracks it.
type Sandbox struct {
	ID          string // Docker container ID
	Name        string // Docker container name
	Image       string
	User        string
	AttemptID   string
	ChallengeID string
	OwnerID     string
	Network     string // "none" or the name of the sandbox's internal network
	Created     time.Time
	Expires     time.Time     // hard deadline
	IdleTimeout time.Duration // 0 = none
	FromPool    bool          // handed out from the warm pool
	Disk        int64         // writable bytes allowed
	DiskMode    string        // how Disk is enforced: DiskStorageOpt or DiskWatchdog
}

// Info is one managed container as List reports it.
type Info struct {
	Sandbox
	State      string    // Docker state: running, exited …
	Tracked    bool      // known to this Manager (created or adopted by it)
	Pool       bool      // a warm-pool container not yet handed out
	LastActive time.Time // last Touch / terminal input (tracked sandboxes only)
}

// ExecOptions tune one Exec. Zero values take defaults.
type ExecOptions struct {
	User      string        // default: the sandbox's user; "root" for root
	Env       []string      // KEY=VALUE added to the sandbox's environment
	WorkDir   string        // default: the image's
	Stdin     io.Reader     // optional
	Timeout   time.Duration // default Config.ExecTimeout; the processes are killed at the deadline
	MaxOutput int           // bytes kept of stdout and of stderr each; default Config.MaxExecOutput
}

// ExecResult is what an Exec produced. When TimedOut is true the command's
// processes were killed and ExitCode is -1 unless Docker reported one.
type ExecResult struct {
	ExitCode                         int
	Stdout, Stderr                   []byte
	StdoutTruncated, StderrTruncated bool
	TimedOut                         bool
	Duration                         time.Duration
}

// AttachOptions tune an interactive terminal.
type AttachOptions struct {
	User       string   // default: the sandbox's user
	Cmd        []string // default: a login shell (bash if present, else sh)
	Env        []string
	WorkDir    string
	Cols, Rows uint // initial size, applied right after start (API 1.41 ignores ConsoleSize)
}

// Change is one filesystem change of a sandbox against its image.
type Change struct {
	Path string
	Kind string // "A" added, "C" changed, "D" deleted
}

// Stats is a point-in-time resource reading of a sandbox.
type Stats struct {
	CPUTotal    time.Duration // CPU time used since start
	Memory      int64         // bytes in use (cgroup usage, includes tmpfs)
	MemoryLimit int64
	Pids        uint64
	DiskBytes   int64 // writable-layer bytes at the last disk check (-1 unknown)
	DiskInodes  int64 // writable-layer inodes at the last disk check (-1 unknown)
}

// ReconcileReport says what Reconcile did with the managed containers found.
type ReconcileReport struct {
	Adopted []string // container IDs now tracked
	Removed []string // container IDs removed (not live, expired, stale pool)
	// Hibernated lists the live attempts whose hibernation image was kept;
	// RemovedImages the hibernation images of attempts no longer live.
	Hibernated    []string
	RemovedImages []string
	// RemovedVolumes are grading runs' volumes a crash left behind.
	RemovedVolumes []string
	Errors         []error
}

// ProbeSpec describes a trusted side container run by Probe.
type ProbeSpec struct {
	Cmd       []string      // required
	Files     []File        // copied into the probe container (never into the sandbox)
	Env       []string      // KEY=VALUE
	Timeout   time.Duration // default Config.ExecTimeout
	MaxOutput int           // default Config.MaxExecOutput
}

// AllowedCapabilities are the capabilities a Spec may add back. Anything else
// (SYS_ADMIN, SYS_PTRACE, NET_ADMIN, SYS_MODULE …) is refused with ErrBaseline.
var allowedCapabilities = map[string]bool{
	"CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true,
	"KILL": true, "SETGID": true, "SETUID": true, "NET_BIND_SERVICE": true,
	"NET_RAW": true, "SYS_CHROOT": true, "AUDIT_WRITE": true, "SETFCAP": true,
}

// AllowedCapabilities returns the capabilities a Spec may declare in CapAdd.
func AllowedCapabilities() []string {
	out := make([]string, 0, len(allowedCapabilities))
	for c := range allowedCapabilities {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

func capacityError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCapacity, fmt.Sprintf(format, args...))
}
