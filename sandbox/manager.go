package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/go-units"
)

// Disk enforcement modes (Sandbox.DiskMode).
const (
	DiskStorageOpt = "storage-opt" // overlay2 on xfs with pquota: the kernel enforces Disk
	DiskWatchdog   = "watchdog"    // RLIMIT_FSIZE per file + the reaper removes a sandbox over Disk/MaxInodes
	DiskReadonly   = "readonly"    // read-only rootfs, only the sized tmpfs mounts are writable
)

// tmpfsPaths are mounted as sized tmpfs in every sandbox.
var tmpfsPaths = []string{"/tmp", "/var/tmp"}

const containerNamePrefix = "opsdojo-"

// Manager creates and tracks sandboxes. It is safe for concurrent use.
type Manager struct {
	cli *client.Client
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	boxes    map[string]*record // by container ID
	reserved int                // Creates in flight (counted against MaxSandboxes)
	owners   map[string]int     // Creates in flight + live, per owner
	pools    map[string]*pool   // by image
	storage  storageState
	bg       sync.WaitGroup // background work (pool fill, prespawn) joined by Close
	closed   bool
	poolWake chan struct{}
	hib      hibernation // hibernate.go: settings, per-attempt locks, keep hook
	obs      Observer    // observe.go: told about starts (metrics); never nil
}

type storageState int

const (
	storageUnknown storageState = iota
	storageOptOK
	storageOptNo
)

// record is the Manager's authoritative view of a handed-out sandbox. The
// owner/attempt mapping of pool containers lives here (labels cannot change
// after create) and, for restarts, in the container name (see nameMeta).
type record struct {
	sb         Sandbox
	env        []string
	lastActive time.Time
	shell      *shellSlot // pre-spawned login shell, nil if none
	diskBytes  int64
	diskInodes int64
	hibernate  bool      // commit and remove at idle/TTL instead of deleting (Spec.Hibernate)
	holds      int       // Hold count: the reaper leaves a held sandbox alone
	asleep     bool      // being hibernated: lookups fail until it is restored
	baseImage  string    // image the sandbox was first made from (its own Image may be a hibernation image)
	keepUntil  time.Time // past the TTL, awaiting its freeze: removed after this (lifecycle.go)
}

// NewManager returns a Manager using cli. It checks the daemon is reachable
// and whether overlay2 sits on xfs (then Disk is enforced with storage-opt).
func NewManager(cli *client.Client, cfg Config, log *slog.Logger, now func() time.Time) (*Manager, error) {
	if cli == nil {
		return nil, errors.New("sandbox: new manager: nil docker client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	m := &Manager{
		cli: cli, cfg: cfg, log: log.With("component", "sandbox"), now: now,
		boxes: map[string]*record{}, owners: map[string]int{}, pools: map[string]*pool{},
		poolWake: make(chan struct{}, 1), obs: nopObserver{},
	}
	m.hib.init()
	for _, p := range cfg.Pools {
		m.pools[p.Image] = &pool{cfg: p}
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	info, err := cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: new manager: docker info: %w", err)
	}
	if err := cfg.checkRuntimes(info); err != nil {
		return nil, err
	}
	m.storage = storageOptNo
	if info.Driver == "overlay2" {
		for _, kv := range info.DriverStatus {
			if kv[0] == "Backing Filesystem" && kv[1] == "xfs" {
				m.storage = storageUnknown // try storage-opt on first create
			}
		}
	}
	m.log.Debug("manager ready", "driver", info.Driver, "server", info.ServerVersion, "disk_mode", m.diskMode())
	return m, nil
}

// Config returns the effective configuration (defaults filled in).
func (m *Manager) Config() Config { return m.cfg }

func (m *Manager) diskMode() string {
	if m.cfg.ReadonlyRootfs {
		return DiskReadonly
	}
	if m.storage == storageOptNo {
		return DiskWatchdog
	}
	return DiskStorageOpt
}

// normalize fills the defaults of s and checks it against the baseline.
func (m *Manager) normalize(s Spec) (Spec, error) {
	if s.Image == "" {
		return s, fmt.Errorf("%w: spec has no image", ErrBaseline)
	}
	if s.User == "" {
		s.User = DefaultUser
	}
	if s.Hostname == "" {
		s.Hostname = DefaultHostname
	}
	if s.CPUs == 0 {
		s.CPUs = m.cfg.Defaults.CPUs
	}
	if s.Memory == 0 {
		s.Memory = m.cfg.Defaults.Memory
	}
	if s.Pids == 0 {
		s.Pids = m.cfg.Defaults.Pids
	}
	if s.Disk == 0 {
		s.Disk = m.cfg.Defaults.Disk
	}
	if s.Network == "" {
		s.Network = NetworkNone
	}
	if s.TTL == 0 {
		s.TTL = m.cfg.DefaultTTL
	}
	if s.IdleTimeout == 0 && m.cfg.DefaultIdle > 0 {
		s.IdleTimeout = m.cfg.DefaultIdle
	}
	if s.SetupTimeout == 0 {
		s.SetupTimeout = m.cfg.SetupTimeout
	}
	max := m.cfg.MaxResources
	switch {
	case s.CPUs < 0 || s.CPUs > max.CPUs:
		return s, fmt.Errorf("%w: cpus %.2f outside (0, %.2f]", ErrBaseline, s.CPUs, max.CPUs)
	case s.Memory < 16<<20 || s.Memory > max.Memory:
		return s, fmt.Errorf("%w: memory %d outside [16MiB, %d]", ErrBaseline, s.Memory, max.Memory)
	case s.Pids < 8 || s.Pids > max.Pids:
		return s, fmt.Errorf("%w: pids %d outside [8, %d]", ErrBaseline, s.Pids, max.Pids)
	case s.Disk < 1<<20 || s.Disk > max.Disk:
		return s, fmt.Errorf("%w: disk %d outside [1MiB, %d]", ErrBaseline, s.Disk, max.Disk)
	case s.Network != NetworkNone && s.Network != NetworkIsolated:
		return s, fmt.Errorf("%w: network %q is not %q or %q", ErrBaseline, s.Network, NetworkNone, NetworkIsolated)
	}
	caps := make([]string, 0, len(s.CapAdd))
	for _, c := range s.CapAdd {
		c = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
		if !allowedCapabilities[c] {
			return s, fmt.Errorf("%w: capability %s is not allowed (allowed: %s)", ErrBaseline, c, strings.Join(AllowedCapabilities(), ", "))
		}
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	slices.Sort(caps)
	s.CapAdd = caps
	for k := range s.Labels {
		if !strings.HasPrefix(k, labelPrefix) {
			return s, fmt.Errorf("%w: label %q is not in the io.opsdojo. namespace", ErrBaseline, k)
		}
	}
	for _, f := range s.Files {
		if err := checkFilePath(f.Path); err != nil {
			return s, err
		}
	}
	s.Volumes = slices.Clone(s.Volumes)
	if err := checkVolumes(&s); err != nil {
		return s, err
	}
	return s, nil
}

func checkFilePath(p string) error {
	if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("%w: file path %q must be absolute and clean", ErrBaseline, p)
	}
	for _, t := range append(slices.Clone(tmpfsPaths), "/dev/shm", "/proc", "/sys", "/dev") {
		if p == t || strings.HasPrefix(p, t+"/") {
			return fmt.Errorf("%w: file path %q is under %s, which the daemon cannot copy into (tmpfs or kernel fs)", ErrBaseline, p, t)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// envList turns a map into sorted KEY=VALUE pairs.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// labelsFor returns the labels of a container made for s (pool containers have
// no attempt labels: see nameMeta).
func (m *Manager) labelsFor(s Spec, created, expires time.Time, poolImage string) map[string]string {
	l := map[string]string{}
	maps.Copy(l, s.Labels)
	l[LabelManaged] = "true"
	l[LabelCreated] = created.UTC().Format(time.RFC3339)
	if m.cfg.Instance != "" {
		l[LabelInstance] = m.cfg.Instance
	}
	if poolImage != "" {
		l[LabelPool] = poolImage
		return l
	}
	l[LabelAttempt] = s.AttemptID
	l[LabelChallenge] = s.ChallengeID
	l[LabelOwner] = s.OwnerID
	l[LabelUser] = s.User
	l[LabelExpires] = expires.UTC().Format(time.RFC3339)
	l[LabelIdle] = s.IdleTimeout.String()
	return l
}

// ErrImageMissing is a sandbox whose image is not on the Docker host: the
// manager never pulls one.
var ErrImageMissing = errors.New("sandbox: image not present on the Docker host")

// baseline returns the container and host configuration of the baseline for s.
func (m *Manager) baseline(s Spec, labels map[string]string, netName string) (*container.Config, *container.HostConfig) {
	pids := m.cfg.hostPids(s.Pids)
	init := true
	cc := &container.Config{
		Image:    s.Image,
		Hostname: s.Hostname,
		Env:      envList(s.Env),
		Labels:   labels,
		// The image's CMD may be anything; the sandbox only needs a long-lived
		// PID 1 child under tini. sleep is in coreutils, present everywhere.
		Cmd:             []string{"sleep", "infinity"},
		Entrypoint:      []string{},
		NetworkDisabled: false,
		StopSignal:      "SIGKILL",
	}
	tmpfs := map[string]string{}
	for _, p := range tmpfsPaths {
		tmpfs[p] = fmt.Sprintf("rw,nosuid,nodev,size=%d,nr_inodes=%d,mode=1777", m.cfg.TmpfsSize, m.cfg.TmpfsInodes)
	}
	for _, v := range s.Volumes {
		tmpfs[v.Path] = v.tmpfsOptions()
	}
	hc := &container.HostConfig{
		Runtime:        m.cfg.ociRuntime(s.Network),
		NetworkMode:    container.NetworkMode(NetworkNone),
		CgroupnsMode:   container.CgroupnsModePrivate, // Docker's v1 default is host
		IpcMode:        container.IPCModePrivate,
		Privileged:     false,
		CapDrop:        []string{"ALL"},
		CapAdd:         slices.Clone(s.CapAdd),
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: m.cfg.ReadonlyRootfs,
		Tmpfs:          tmpfs,
		ShmSize:        m.cfg.ShmSize,
		Init:           &init,
		AutoRemove:     false,
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{
			"max-size": m.cfg.LogMaxSize, "max-file": strconv.Itoa(m.cfg.LogMaxFiles),
		}},
		Resources: container.Resources{
			Memory:     s.Memory,
			MemorySwap: s.Memory,
			NanoCPUs:   int64(s.CPUs * 1e9),
			PidsLimit:  &pids,
			Ulimits:    m.ulimits(s),
		},
	}
	if netName != "" {
		hc.NetworkMode = container.NetworkMode(netName)
	}
	if m.storage != storageOptNo && !m.cfg.ReadonlyRootfs {
		hc.StorageOpt = map[string]string{"size": strconv.FormatInt(s.Disk, 10)}
	}
	return cc, hc
}

func (m *Manager) ulimits(s Spec) []*container.Ulimit {
	return []*container.Ulimit{
		{Name: "nofile", Soft: m.cfg.NoFile, Hard: m.cfg.NoFile},
		{Name: "nproc", Soft: m.cfg.nproc(s.Pids), Hard: m.cfg.nproc(s.Pids)},
		{Name: "core", Soft: 0, Hard: 0},
		{Name: "fsize", Soft: s.Disk, Hard: s.Disk},
	}
}

// createContainer creates, checks and starts a baseline container for s. On
// any error nothing is left behind.
func (m *Manager) createContainer(ctx context.Context, s Spec, name string, labels map[string]string) (id, netName string, err error) {
	if s.Network == NetworkIsolated {
		netName = "opsdojo-net-" + randomHex(6)
		nl := map[string]string{LabelManaged: "true"}
		if m.cfg.Instance != "" {
			nl[LabelInstance] = m.cfg.Instance
		}
		_, err := m.cli.NetworkCreate(ctx, netName, network.CreateOptions{
			Driver: "bridge", Internal: true, Labels: nl,
			Options: map[string]string{"com.docker.network.bridge.enable_icc": "false"},
		})
		if err != nil {
			return "", "", fmt.Errorf("sandbox: create network: %w", err)
		}
		labels[LabelNetwork] = netName
	}
	fail := func(e error) (string, string, error) {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		switch {
		case id != "":
			_ = m.cli.ContainerRemove(cctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		case ctx.Err() != nil:
			// The request was abandoned, but the daemon may have created
			// the container anyway: remove it by its (random) name, or it
			// would wait in "Created" for the next Reconcile. The daemon may
			// still be creating it, so look a few times.
			for range 5 {
				if err := m.cli.ContainerRemove(cctx, name, container.RemoveOptions{Force: true, RemoveVolumes: true}); err == nil || !errdefs.IsNotFound(err) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		if netName != "" {
			_ = m.cli.NetworkRemove(cctx, netName)
		}
		return "", "", e
	}
	cc, hc := m.baseline(s, labels, netName)
	resp, err := m.cli.ContainerCreate(ctx, cc, hc, nil, nil, name)
	if err != nil && hc.StorageOpt != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
		// A daemon that refuses storage-opt says so with a plain error (no
		// type of its own), so it is recognised by what works: the same
		// create without it. Only then is storage-opt given up; a failure
		// either way is returned as it is.
		noOpt := *hc
		noOpt.StorageOpt = nil
		if resp2, err2 := m.cli.ContainerCreate(ctx, cc, &noOpt, nil, nil, name); err2 == nil {
			m.mu.Lock()
			m.storage = storageOptNo
			m.mu.Unlock()
			m.log.Warn("storage-opt refused by the daemon; disk enforced by the watchdog", "err", err)
			resp, err, hc = resp2, nil, &noOpt
		}
	} else if err == nil && hc.StorageOpt != nil {
		m.mu.Lock()
		m.storage = storageOptOK
		m.mu.Unlock()
	}
	if err != nil {
		if errdefs.IsNotFound(err) && m.imageMissing(ctx, s.Image) {
			// The API's create never pulls (the docker CLI does, not the
			// daemon), and neither does the manager: sandbox images are
			// built on the host, never fetched.
			return fail(fmt.Errorf("%w: %s (build it with `opsdojo images build` or load it with `docker load`; opsdojo never pulls images)", ErrImageMissing, s.Image))
		}
		return fail(fmt.Errorf("sandbox: create container: %w", err))
	}
	id = resp.ID
	if err := m.checkDrift(ctx, id, cc, hc); err != nil {
		m.log.Error("baseline drift; container removed", "id", shortID(id), "err", err)
		return fail(err)
	}
	if err := m.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fail(fmt.Errorf("sandbox: start container: %w", err))
	}
	if netName != "" {
		// The helper runs from the pristine image, never a hibernation
		// image holding the candidate's files.
		iso := s.Image
		if b := labels[LabelBaseImage]; b != "" {
			iso = b
		}
		if err := m.isolate(ctx, id, iso, netName); err != nil {
			return fail(err)
		}
	}
	return id, netName, nil
}

// isolate finishes an "isolated" sandbox. Docker 20.10 still gives a
// container on an Internal network a default route to the bridge (the host
// drops the traffic in iptables); to have no route out at all, a short-lived
// helper made from the sandbox's image (pristine: not the sandbox's
// filesystem) joins its network namespace with NET_ADMIN only and deletes
// the default route. The candidate has no NET_ADMIN to add it back. It also
// checks the network is Internal with inter-container traffic off.
func (m *Manager) isolate(ctx context.Context, id, image, netName string) error {
	n, err := m.cli.NetworkInspect(ctx, netName, network.InspectOptions{})
	if err != nil {
		return fmt.Errorf("sandbox: isolate: inspect network: %w", err)
	}
	if !n.Internal || n.Options["com.docker.network.bridge.enable_icc"] != "false" {
		return fmt.Errorf("%w: drift check: network %s internal=%v options=%v", ErrBaseline, netName, n.Internal, n.Options)
	}
	pids := int64(16)
	cc := &container.Config{Image: image, User: "root", Entrypoint: []string{},
		Cmd:    []string{"sh", "-c", "ip route del default 2>/dev/null; ! ip route show | grep -q '^default'"},
		Labels: map[string]string{LabelManaged: "true", LabelInstance: m.cfg.Instance, LabelProbe: id}}
	hc := &container.HostConfig{
		Runtime:     RuntimeRunc, // joins the sandbox's kernel netns (also under gVisor: hostinet)
		NetworkMode: container.NetworkMode("container:" + id),
		CapDrop:     []string{"ALL"}, CapAdd: []string{"NET_ADMIN"}, SecurityOpt: []string{"no-new-privileges"},
		LogConfig: container.LogConfig{Type: "none"},
		Resources: container.Resources{Memory: 32 << 20, MemorySwap: 32 << 20, NanoCPUs: 5e8, PidsLimit: &pids},
	}
	cr, err := m.cli.ContainerCreate(ctx, cc, hc, nil, nil, containerNamePrefix+"netfix-"+randomHex(6))
	if err != nil {
		return fmt.Errorf("sandbox: isolate: create helper: %w", err)
	}
	defer func() {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		_ = m.cli.ContainerRemove(cctx, cr.ID, container.RemoveOptions{Force: true})
	}()
	waitC, errC := m.cli.ContainerWait(ctx, cr.ID, container.WaitConditionNextExit)
	if err := m.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("sandbox: isolate: start helper: %w", err)
	}
	select {
	case w := <-waitC:
		if w.StatusCode != 0 {
			return fmt.Errorf("%w: isolate: default route still present (helper exit %d; does the image have iproute2?)", ErrBaseline, w.StatusCode)
		}
	case err := <-errC:
		return fmt.Errorf("sandbox: isolate: wait helper: %w", err)
	}
	return nil
}

// checkDrift inspects a created container and compares every baseline
// setting with what was asked. Any difference is an error.
func (m *Manager) checkDrift(ctx context.Context, id string, want *container.Config, wantHC *container.HostConfig) error {
	got, err := m.cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("sandbox: drift check: inspect: %w", err)
	}
	return compareBaseline(got, want, wantHC)
}

func compareBaseline(got container.InspectResponse, want *container.Config, w *container.HostConfig) error {
	if got.ContainerJSONBase == nil || got.HostConfig == nil || got.Config == nil {
		return fmt.Errorf("%w: drift check: incomplete inspect", ErrBaseline)
	}
	h := got.HostConfig
	var bad []string
	check := func(ok bool, what string, args ...any) {
		if !ok {
			bad = append(bad, fmt.Sprintf(what, args...))
		}
	}
	check(!h.Privileged, "privileged")
	check(h.Runtime == w.Runtime, "Runtime=%q want %q", h.Runtime, w.Runtime)
	check(slices.Equal(h.CapDrop, []string{"ALL"}), "CapDrop=%v want [ALL]", h.CapDrop)
	gotAdd := slices.Clone(h.CapAdd)
	slices.Sort(gotAdd)
	check(slices.Equal(gotAdd, w.CapAdd) || (len(gotAdd) == 0 && len(w.CapAdd) == 0), "CapAdd=%v want %v", h.CapAdd, w.CapAdd)
	nnp, unconfined := false, false
	for _, o := range h.SecurityOpt {
		if o == "no-new-privileges" || o == "no-new-privileges:true" || o == "no-new-privileges=true" {
			nnp = true
		}
		if strings.Contains(o, "unconfined") || strings.HasPrefix(o, "seccomp") {
			unconfined = true
		}
	}
	check(nnp, "no-new-privileges missing from %v", h.SecurityOpt)
	check(!unconfined, "custom or unconfined security profile %v", h.SecurityOpt)
	check(!h.PidMode.IsHost() && h.PidMode == "", "PidMode=%q", h.PidMode)
	check(h.IpcMode == w.IpcMode, "IpcMode=%q want %q", h.IpcMode, w.IpcMode)
	check(h.UTSMode == "", "UTSMode=%q", h.UTSMode)
	check(h.UsernsMode == "", "UsernsMode=%q", h.UsernsMode)
	check(h.CgroupnsMode == w.CgroupnsMode, "CgroupnsMode=%q want %q", h.CgroupnsMode, w.CgroupnsMode)
	check(h.NetworkMode == w.NetworkMode, "NetworkMode=%q want %q", h.NetworkMode, w.NetworkMode)
	check(len(h.Binds) == 0, "Binds=%v", h.Binds)
	check(len(h.VolumesFrom) == 0, "VolumesFrom=%v", h.VolumesFrom)
	check(len(h.Devices) == 0, "Devices=%v", h.Devices)
	check(len(h.DeviceRequests) == 0, "DeviceRequests")
	for _, mp := range got.Mounts {
		check(false, "mount %s:%s (%s)", mp.Source, mp.Destination, mp.Type)
	}
	check(len(h.Mounts) == 0, "Mounts=%v", h.Mounts)
	check(maps.Equal(h.Tmpfs, w.Tmpfs), "Tmpfs=%v want %v", h.Tmpfs, w.Tmpfs)
	check(h.ShmSize == w.ShmSize, "ShmSize=%d want %d", h.ShmSize, w.ShmSize)
	check(h.ReadonlyRootfs == w.ReadonlyRootfs, "ReadonlyRootfs=%v", h.ReadonlyRootfs)
	check(h.PidsLimit != nil && *h.PidsLimit == *w.PidsLimit, "PidsLimit=%s want %d", fmtPtr(h.PidsLimit), *w.PidsLimit)
	check(h.Memory == w.Memory && h.Memory > 0, "Memory=%d want %d", h.Memory, w.Memory)
	check(h.MemorySwap == w.MemorySwap && h.MemorySwap == h.Memory, "MemorySwap=%d want %d", h.MemorySwap, w.MemorySwap)
	check(h.NanoCPUs == w.NanoCPUs && h.NanoCPUs > 0, "NanoCPUs=%d want %d", h.NanoCPUs, w.NanoCPUs)
	check(h.OomKillDisable == nil || !*h.OomKillDisable, "OomKillDisable")
	check(ulimitsEqual(h.Ulimits, w.Ulimits), "Ulimits=%v", h.Ulimits)
	check(h.Init != nil && *h.Init, "Init not true")
	check(h.LogConfig.Type == "json-file" && maps.Equal(h.LogConfig.Config, w.LogConfig.Config), "LogConfig=%+v", h.LogConfig)
	check(maps.Equal(h.StorageOpt, w.StorageOpt) || (len(h.StorageOpt) == 0 && len(w.StorageOpt) == 0), "StorageOpt=%v", h.StorageOpt)
	check(len(h.PortBindings) == 0 && !h.PublishAllPorts, "published ports")
	check(len(h.ExtraHosts) == 0, "ExtraHosts")
	check(got.Config.User == "" || got.Config.User == want.User, "Config.User=%q", got.Config.User)
	for k, v := range want.Labels {
		check(got.Config.Labels[k] == v, "label %s=%q want %q", k, got.Config.Labels[k], v)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: drift check: %s", ErrBaseline, strings.Join(bad, "; "))
	}
	return nil
}

func ulimitsEqual(a, b []*container.Ulimit) bool {
	if len(a) != len(b) {
		return false
	}
	idx := map[string]container.Ulimit{}
	for _, u := range a {
		idx[u.Name] = *u
	}
	for _, u := range b {
		if g, ok := idx[u.Name]; !ok || g != *u {
			return false
		}
	}
	return true
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// cleanupCtx is a context detached from ctx on purpose (a cancelled request
// must not leave a container behind), bounded by DefaultStopTimeout.
func (m *Manager) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout)
}

// nameMeta is the attempt mapping of a pool container after hand-out, kept in
// the container name: labels cannot change after create, names can, and a
// candidate inside the container can change neither.
type nameMeta struct {
	A string `json:"a,omitempty"` // attempt
	C string `json:"c,omitempty"` // challenge
	O string `json:"o,omitempty"` // owner
	U string `json:"u,omitempty"` // user
	E int64  `json:"e"`           // expires, unix seconds
	I int64  `json:"i,omitempty"` // idle timeout, seconds
}

var nameEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

const assignedNamePrefix = containerNamePrefix + "x-"

func encodeName(meta nameMeta) string {
	b, _ := json.Marshal(meta)
	return assignedNamePrefix + nameEnc.EncodeToString(b)
}

func decodeName(name string) (nameMeta, bool) {
	name = strings.TrimPrefix(name, "/")
	if !strings.HasPrefix(name, assignedNamePrefix) {
		return nameMeta{}, false
	}
	b, err := nameEnc.DecodeString(strings.TrimPrefix(name, assignedNamePrefix))
	if err != nil {
		return nameMeta{}, false
	}
	var meta nameMeta
	if json.Unmarshal(b, &meta) != nil {
		return nameMeta{}, false
	}
	return meta, true
}

// reserve books a slot for s.OwnerID against the caps, or fails at once.
func (m *Manager) reserve(owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("sandbox: manager closed")
	}
	if n := len(m.boxes) + m.reserved; n >= m.cfg.MaxSandboxes {
		return capacityError("%d of %d sandboxes in use on this server; try again later", n, m.cfg.MaxSandboxes)
	}
	if m.cfg.MaxPerOwner > 0 && owner != "" && m.owners[owner] >= m.cfg.MaxPerOwner {
		return capacityError("owner %q already has %d of %d sandboxes; end one first", owner, m.owners[owner], m.cfg.MaxPerOwner)
	}
	m.reserved++
	if owner != "" {
		m.owners[owner]++
	}
	return nil
}

// unreserve ends a reservation; when rec is non-nil it becomes a live box.
func (m *Manager) unreserve(owner string, rec *record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reserved--
	if rec != nil {
		m.boxes[rec.sb.ID] = rec
		return
	}
	if owner != "" {
		m.owners[owner]--
	}
}

// Create makes a sandbox for s: from the warm pool when one matches, else a
// fresh container; then copies Files and runs Setup as root. It returns
// ErrCapacity at once when a cap is reached. The Observer (observe.go)
// is told how long it took or that it failed.
func (m *Manager) createSandbox(ctx context.Context, s Spec) (*Sandbox, error) {
	s, err := m.normalize(s)
	if err != nil {
		return nil, err
	}
	if err := m.reserve(s.OwnerID); err != nil {
		return nil, err
	}
	rec, err := m.create(ctx, s)
	m.unreserve(s.OwnerID, rec)
	if err != nil {
		return nil, unavailable(err)
	}
	m.log.Info("sandbox created", "id", shortID(rec.sb.ID), "attempt", s.AttemptID, "owner", s.OwnerID,
		"image", s.Image, "pool", rec.sb.FromPool, "expires", rec.sb.Expires)
	sb := rec.sb
	return &sb, nil
}

func (m *Manager) create(ctx context.Context, s Spec) (*record, error) {
	start := m.now()
	rec := &record{
		sb: Sandbox{
			Image: s.Image, User: s.User, AttemptID: s.AttemptID, ChallengeID: s.ChallengeID, OwnerID: s.OwnerID,
			Network: NetworkNone, Created: start, Expires: start.Add(s.TTL), IdleTimeout: s.IdleTimeout,
			Disk: s.Disk,
		},
		env:        envList(s.Env),
		lastActive: start,
		diskBytes:  -1, diskInodes: -1,
		hibernate: s.Hibernate, baseImage: s.Image,
	}
	pe := m.takePool(s)
	if pe != nil {
		if err := m.handOut(ctx, pe, s, rec); err != nil {
			m.log.Warn("pool hand-out failed; creating a fresh container", "err", err)
			pe = nil
		}
	}
	if pe == nil {
		name := containerNamePrefix + randomHex(8)
		id, netName, err := m.createContainer(ctx, s, name, m.labelsFor(s, start, rec.sb.Expires, ""))
		if err != nil {
			return nil, err
		}
		rec.sb.ID, rec.sb.Name = id, name
		if netName != "" {
			rec.sb.Network = netName
		}
	}
	m.mu.Lock()
	rec.sb.DiskMode = m.diskMode()
	m.mu.Unlock()
	if err := m.prepare(ctx, rec, s); err != nil {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		m.removeContainer(cctx, rec.sb.ID, rec.sb.Network, rec.shell)
		return nil, err
	}
	m.wakePool()
	return rec, nil
}

// setupWrapper runs the Setup script (read from stdin) with its output in a
// root-only temporary file and stdin from /dev/null, then prints the output's
// tail. Daemons the script starts therefore do not hold the exec's stdout
// pipe: Docker 20.10 delays every later exec exit in the container by ~2-4 s
// while a finished exec's stream is still held open.
const setupWrapper = `d=$(mktemp -d) || exit 125
cat > "$d/setup.sh" || exit 125
bash "$d/setup.sh" > "$d/out" 2>&1 < /dev/null
rc=$?
tail -c 65536 "$d/out"
rm -rf "$d"
exit $rc`

// prepare copies Files and runs Setup, then pre-spawns the shell.
func (m *Manager) prepare(ctx context.Context, rec *record, s Spec) error {
	id := rec.sb.ID
	if len(s.Files) > 0 {
		tr, err := filesTar(s.Files)
		if err != nil {
			return err
		}
		if err := m.copyIn(ctx, id, "/", tr); err != nil {
			return fmt.Errorf("sandbox: create: copy files: %w", err)
		}
	}
	if len(s.Setup) > 0 {
		res, err := m.exec(ctx, id, []string{"sh", "-c", setupWrapper}, execParams{
			user: "root", env: rec.env, stdin: strings.NewReader(string(s.Setup)),
			timeout: s.SetupTimeout, maxOutput: m.cfg.MaxExecOutput,
		})
		if err != nil {
			return fmt.Errorf("sandbox: create: setup: %w", err)
		}
		if res.TimedOut {
			return fmt.Errorf("sandbox: create: setup timed out after %s; output: %s", s.SetupTimeout, tail(res.Stdout, res.Stderr))
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("sandbox: create: setup exited with status %d; output: %s", res.ExitCode, tail(res.Stdout, res.Stderr))
		}
	}
	if m.cfg.PrespawnShell && rec.shell == nil {
		rec.shell = m.prespawn(ctx, id, s.User, rec.env)
	}
	return nil
}

func tail(stdout, stderr []byte) string {
	const max = 2000
	out := strings.TrimSpace(string(stdout) + "\n" + string(stderr))
	if len(out) > max {
		out = "…" + out[len(out)-max:]
	}
	return strconv.Quote(out)
}

// lookup returns the live record of id (full ID, name or unique prefix).
func (m *Manager) lookup(id string) (*record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.findLocked(id)
	if rec == nil || rec.asleep {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	now := m.now()
	if now.After(rec.sb.Expires) {
		return nil, fmt.Errorf("%w: %s passed its TTL at %s", ErrExpired, shortID(rec.sb.ID), rec.sb.Expires.Format(time.RFC3339))
	}
	if rec.sb.IdleTimeout > 0 && now.Sub(rec.lastActive) > rec.sb.IdleTimeout {
		return nil, fmt.Errorf("%w: %s idle since %s", ErrExpired, shortID(rec.sb.ID), rec.lastActive.Format(time.RFC3339))
	}
	return rec, nil
}

func (m *Manager) findLocked(id string) *record {
	if rec, ok := m.boxes[id]; ok {
		return rec
	}
	if len(id) < 4 {
		return nil
	}
	var found *record
	for cid, rec := range m.boxes {
		if strings.HasPrefix(cid, id) || rec.sb.Name == id {
			if found != nil {
				return nil
			}
			found = rec
		}
	}
	return found
}

// Get returns the tracked sandbox id.
func (m *Manager) Get(id string) (Sandbox, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return Sandbox{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return rec.sb, nil
}

// Touch records activity on id for the idle timeout.
func (m *Manager) Touch(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec := m.findLocked(id); rec != nil {
		rec.lastActive = m.now()
	}
}

// Remove deletes the sandbox (container, its processes, its network). It is
// idempotent for tracked sandboxes; an unknown id is ErrNotFound.
func (m *Manager) Remove(ctx context.Context, id string) error {
	m.mu.Lock()
	rec := m.findLocked(id)
	var shell *shellSlot
	if rec != nil {
		delete(m.boxes, rec.sb.ID)
		if rec.sb.OwnerID != "" {
			m.owners[rec.sb.OwnerID]--
		}
		shell, rec.shell = rec.shell, nil
	}
	m.mu.Unlock()
	if rec != nil {
		err := m.removeContainer(ctx, rec.sb.ID, rec.sb.Network, shell)
		m.log.Info("sandbox removed", "id", shortID(rec.sb.ID), "attempt", rec.sb.AttemptID, "err", err)
		m.wakePool()
		return err
	}
	// Not tracked: remove it only if it is one of ours.
	c, err := m.cli.ContainerInspect(ctx, id)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return fmt.Errorf("sandbox: remove: inspect: %w", err)
	}
	if !m.ours(c.Config.Labels) {
		return fmt.Errorf("%w: %s is not a managed sandbox", ErrNotFound, id)
	}
	return m.removeContainer(ctx, c.ID, c.Config.Labels[LabelNetwork], nil)
}

func (m *Manager) ours(labels map[string]string) bool {
	return labels[LabelManaged] == "true" && (m.cfg.Instance == "" || labels[LabelInstance] == m.cfg.Instance)
}

func (m *Manager) removeContainer(ctx context.Context, id, netName string, shell *shellSlot) error {
	if shell != nil {
		shell.discard(false)
	}
	err := m.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errdefs.IsNotFound(err) {
		err = fmt.Errorf("sandbox: remove container %s: %w", shortID(id), err)
	} else {
		err = nil
	}
	if netName != "" && netName != NetworkNone {
		if nerr := m.cli.NetworkRemove(ctx, netName); nerr != nil && !errdefs.IsNotFound(nerr) {
			err = errors.Join(err, fmt.Errorf("sandbox: remove network %s: %w", netName, nerr))
		}
	}
	return err
}

// List returns the managed containers of this instance, tracked or not.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	cs, err := m.listManaged(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(cs))
	for _, c := range cs {
		info := Info{Sandbox: sandboxFromLabels(c.ID, c.Names, c.Image, c.Labels), State: c.State}
		if rec, ok := m.boxes[c.ID]; ok {
			info.Sandbox, info.Tracked, info.LastActive = rec.sb, true, rec.lastActive
		}
		info.Pool = c.Labels[LabelPool] != "" && !info.Tracked && info.AttemptID == ""
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return a.Created.Compare(b.Created) })
	return out, nil
}

func (m *Manager) listManaged(ctx context.Context) ([]container.Summary, error) {
	f := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	if m.cfg.Instance != "" {
		f.Add("label", LabelInstance+"="+m.cfg.Instance)
	}
	cs, err := m.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("sandbox: list containers: %w", err)
	}
	return cs, nil
}

// sandboxFromLabels rebuilds what can be known of a container from its labels
// and, for handed-out pool containers, its name.
func sandboxFromLabels(id string, names []string, image string, l map[string]string) Sandbox {
	sb := Sandbox{ID: id, Image: image, AttemptID: l[LabelAttempt], ChallengeID: l[LabelChallenge],
		OwnerID: l[LabelOwner], User: l[LabelUser], Network: NetworkNone}
	if len(names) > 0 {
		sb.Name = strings.TrimPrefix(names[0], "/")
	}
	if n := l[LabelNetwork]; n != "" {
		sb.Network = n
	}
	sb.Created, _ = time.Parse(time.RFC3339, l[LabelCreated])
	sb.Expires, _ = time.Parse(time.RFC3339, l[LabelExpires])
	sb.IdleTimeout, _ = time.ParseDuration(l[LabelIdle])
	if b := l[LabelBaseImage]; b != "" {
		sb.Image = b // restored from a hibernation image
	}
	if meta, ok := decodeName(sb.Name); ok {
		sb.AttemptID, sb.ChallengeID, sb.OwnerID, sb.User = meta.A, meta.C, meta.O, meta.U
		sb.Expires = time.Unix(meta.E, 0).UTC()
		sb.IdleTimeout = time.Duration(meta.I) * time.Second
		sb.FromPool = true
	}
	return sb
}

// Close stops background work and removes the warm pool. Handed-out
// sandboxes are left running for the next start's Reconcile.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	var entries []*poolEntry
	for _, p := range m.pools {
		entries = append(entries, p.ready...)
		p.ready = nil
	}
	m.mu.Unlock()
	m.bg.Wait()
	m.mu.Lock()
	for _, p := range m.pools { // filled while waiting
		entries = append(entries, p.ready...)
		p.ready = nil
	}
	m.mu.Unlock()
	var errs []error
	for _, e := range entries {
		if err := m.removeContainer(ctx, e.id, "", e.shell); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ParseBytes parses "512m"/"1g" style sizes (a helper for the CLI and config).
func ParseBytes(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil {
		return 0, fmt.Errorf("sandbox: size %q: %w", s, err)
	}
	return n, nil
}

func fmtPtr(p *int64) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(*p, 10)
}
