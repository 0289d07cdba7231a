package sandbox

import (
	"fmt"
	"time"
)

// Resources are the per-sandbox limits.
type Resources struct {
	CPUs   float64 // cores
	Memory int64   // bytes (memory+swap = Memory)
	Pids   int64   // processes and threads
	Disk   int64   // writable bytes (rootfs layer; tmpfs mounts are sized separately)
}

// PoolConfig asks for Size started containers of Image kept warm. A pool
// container is made with Config.Defaults resources, no network, no added
// capabilities, and gets a login shell for User pre-spawned.
type PoolConfig struct {
	Image string
	Size  int
	User  string // default "candidate"
}

// Defaults of Config (named so tests and docs can refer to them).
const (
	DefaultMaxSandboxes   = 50
	DefaultMaxPerOwner    = 3
	DefaultTTL            = 2 * time.Hour
	DefaultIdleTimeout    = 30 * time.Minute
	DefaultCPUs           = 1.0
	DefaultMemory         = 512 << 20
	DefaultPids           = 256
	DefaultDisk           = 1 << 30
	DefaultMaxCPUs        = 2.0
	DefaultMaxMemory      = 2 << 30
	DefaultMaxPids        = 1024
	DefaultMaxDisk        = 8 << 30
	DefaultTmpfsSize      = 64 << 20
	DefaultTmpfsInodes    = 16384
	DefaultShmSize        = 16 << 20
	DefaultNoFile         = 4096
	DefaultNProc          = 4096
	DefaultMaxInodes      = 200000
	DefaultLogMaxSize     = "1m"
	DefaultLogMaxFiles    = 2 // Docker 20.10 keeps a rotated .1 file even with max-file=1
	DefaultExecTimeout    = 30 * time.Second
	DefaultSetupTimeout   = 2 * time.Minute
	DefaultMaxExecOutput  = 1 << 20
	DefaultMaxCopyBytes   = 64 << 20
	DefaultReapInterval   = 10 * time.Second
	DefaultUser           = "candidate"
	DefaultHostname       = "sandbox"
	DefaultStopTimeout    = 20 * time.Second // bound of every cleanup call detached from a request
	DefaultPoolConcurrent = 2
)

// Config holds the Manager's limits. Zero values take the Default* constants.
type Config struct {
	// Instance is written as io.opsdojo.instance on everything this Manager
	// creates; List, Reconcile and the reaper only touch their own instance.
	Instance string

	MaxSandboxes int // global cap on handed-out sandboxes (the pool is extra)
	MaxPerOwner  int // cap per Spec.OwnerID (0 = DefaultMaxPerOwner, <0 = unlimited)

	DefaultTTL  time.Duration
	DefaultIdle time.Duration // <0 disables the idle timeout

	Defaults     Resources // applied to zero fields of a Spec
	MaxResources Resources // a Spec above these is refused

	TmpfsSize   int64 // size of each tmpfs (/tmp, /var/tmp)
	TmpfsInodes int64 // nr_inodes of each tmpfs
	ShmSize     int64 // /dev/shm
	NoFile      int64 // RLIMIT_NOFILE soft=hard
	NProc       int64 // RLIMIT_NPROC (per uid, host-wide: defence in depth, PidsLimit is the real cap)
	MaxInodes   int64 // writable-layer inodes allowed (enforced by the disk watchdog)

	LogMaxSize  string // json-file max-size, e.g. "1m"
	LogMaxFiles int    // json-file max-file

	ExecTimeout   time.Duration // default ExecOptions.Timeout
	SetupTimeout  time.Duration // default Spec.SetupTimeout
	MaxExecOutput int           // default ExecOptions.MaxOutput
	MaxCopyBytes  int64         // cap of CopyIn (and default of CopyOut when maxBytes <= 0)

	ReapInterval time.Duration // how often RunReaper checks expiry, idle time and disk

	Pools          []PoolConfig
	PrespawnShell  bool // start a login shell after Create so Attach's first prompt is instant
	ProbeImage     string
	ReadonlyRootfs bool // strict mode: read-only rootfs, only tmpfs is writable (see docs/SANDBOX.md)

	// Runtime is RuntimeRunc (default) or RuntimeRunsc (gVisor: a second wall
	// between the candidate and the host kernel; see runtime.go).
	Runtime string
}

func (c Config) withDefaults() Config {
	setI := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set64 := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	setI(&c.MaxSandboxes, DefaultMaxSandboxes)
	setI(&c.MaxPerOwner, DefaultMaxPerOwner)
	setD(&c.DefaultTTL, DefaultTTL)
	setD(&c.DefaultIdle, DefaultIdleTimeout)
	if c.Defaults.CPUs == 0 {
		c.Defaults.CPUs = DefaultCPUs
	}
	set64(&c.Defaults.Memory, DefaultMemory)
	set64(&c.Defaults.Pids, DefaultPids)
	set64(&c.Defaults.Disk, DefaultDisk)
	if c.MaxResources.CPUs == 0 {
		c.MaxResources.CPUs = DefaultMaxCPUs
	}
	set64(&c.MaxResources.Memory, DefaultMaxMemory)
	set64(&c.MaxResources.Pids, DefaultMaxPids)
	set64(&c.MaxResources.Disk, DefaultMaxDisk)
	set64(&c.TmpfsSize, DefaultTmpfsSize)
	set64(&c.TmpfsInodes, DefaultTmpfsInodes)
	set64(&c.ShmSize, DefaultShmSize)
	set64(&c.NoFile, DefaultNoFile)
	set64(&c.NProc, DefaultNProc)
	set64(&c.MaxInodes, DefaultMaxInodes)
	if c.LogMaxSize == "" {
		c.LogMaxSize = DefaultLogMaxSize
	}
	setI(&c.LogMaxFiles, DefaultLogMaxFiles)
	setD(&c.ExecTimeout, DefaultExecTimeout)
	setD(&c.SetupTimeout, DefaultSetupTimeout)
	setI(&c.MaxExecOutput, DefaultMaxExecOutput)
	set64(&c.MaxCopyBytes, DefaultMaxCopyBytes)
	setD(&c.ReapInterval, DefaultReapInterval)
	if c.Runtime == "" {
		c.Runtime = RuntimeRunc
	}
	for i := range c.Pools {
		if c.Pools[i].User == "" {
			c.Pools[i].User = DefaultUser
		}
	}
	return c
}

func (c Config) validate() error {
	if c.Defaults.Memory < 16<<20 {
		return fmt.Errorf("sandbox config: default memory %d is below 16MiB", c.Defaults.Memory)
	}
	if c.LogMaxFiles < 1 {
		return fmt.Errorf("sandbox config: log max files must be >= 1")
	}
	if c.Runtime != RuntimeRunc && c.Runtime != RuntimeRunsc {
		return fmt.Errorf("sandbox config: runtime %q is not %q or %q", c.Runtime, RuntimeRunc, RuntimeRunsc)
	}
	for _, p := range c.Pools {
		if p.Image == "" || p.Size < 0 {
			return fmt.Errorf("sandbox config: pool needs an image and a size >= 0, got %+v", p)
		}
	}
	return nil
}
