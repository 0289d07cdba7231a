package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

func TestReaperTTLAndIdle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	clock := &fakeClock{t: time.Now()}
	m := newManager(t, e, e.config(), clock.Now)
	short := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "ttl", TTL: time.Minute, IdleTimeout: time.Hour})
	idle := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "idle", TTL: time.Hour, IdleTimeout: 10 * time.Minute})
	busy := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "busy", TTL: time.Hour, IdleTimeout: 10 * time.Minute})

	clock.Add(5 * time.Minute)
	m.Touch(busy.ID)
	if got := m.Reap(ctx); len(got) != 1 || got[0].ID != short.ID || got[0].Reason != ReasonTTL {
		t.Fatalf("first reap: %+v", got)
	}
	if _, err := m.Exec(ctx, short.ID, []string{"true"}, ExecOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("exec on reaped: %v", err)
	}
	clock.Add(6 * time.Minute) // idle for 11m, busy touched 6m ago
	if _, err := m.Exec(ctx, idle.ID, []string{"true"}, ExecOptions{}); !errors.Is(err, ErrExpired) {
		t.Fatalf("exec on idle-expired before reap: %v", err)
	}
	if got := m.Reap(ctx); len(got) != 1 || got[0].ID != idle.ID || got[0].Reason != ReasonIdle {
		t.Fatalf("second reap: %+v", got)
	}
	if _, err := e.cli.ContainerInspect(ctx, idle.ID); err == nil {
		t.Fatalf("idle container still exists")
	}
	if _, err := m.Get(busy.ID); err != nil {
		t.Fatalf("busy sandbox: %v", err)
	}
}

func TestReconcile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	cfg := e.config()
	cfg.Pools = []PoolConfig{{Image: e.image, Size: 1}}
	first := newManager(t, e, cfg, nil)
	if err := first.FillPool(ctx); err != nil {
		t.Fatal(err)
	}
	live := mustCreate(t, ctx, first, Spec{Image: e.image, AttemptID: "live-pooled", OwnerID: "ann"}) // from the pool
	if !live.FromPool {
		t.Fatalf("expected a pool hand-out")
	}
	live2 := mustCreate(t, ctx, first, Spec{Image: e.image, AttemptID: "live-cold", OwnerID: "bob", Env: map[string]string{"K": "v"}})
	dead := mustCreate(t, ctx, first, Spec{Image: e.image, AttemptID: "dead"})
	iso := mustCreate(t, ctx, first, Spec{Image: e.image, AttemptID: "dead-iso", Network: NetworkIsolated})
	// Simulate a crash: a new Manager on the same instance, no Close.
	cfg.Pools = nil
	second := newManager(t, e, cfg, nil)
	rep, err := second.Reconcile(ctx, func(a string) (Adoption, bool) {
		if a == "live-pooled" {
			return Adoption{Env: map[string]string{"POOL_K": "pv"}}, true
		}
		return Adoption{}, strings.HasPrefix(a, "live")
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rep.Adopted)
	want := []string{live.ID, live2.ID}
	slices.Sort(want)
	if !slices.Equal(rep.Adopted, want) {
		t.Fatalf("adopted %v, want %v", rep.Adopted, want)
	}
	for _, id := range []string{dead.ID, iso.ID} {
		if !slices.Contains(rep.Removed, id) {
			t.Fatalf("%s not removed: %+v", id, rep)
		}
	}
	sb, err := second.Get(live.ID)
	if err != nil || sb.AttemptID != "live-pooled" || sb.OwnerID != "ann" || !sb.FromPool {
		t.Fatalf("adopted pooled sandbox: %+v %v", sb, err)
	}
	res := run(t, ctx, second, live2.ID, "", "echo $K", 5*time.Second)
	if string(res.Stdout) != "v\n" {
		t.Fatalf("adopted env: %q", res.Stdout)
	}
	// A pool container never had its attempt's environment in its own
	// config: the caller's Adoption gives it back.
	res = run(t, ctx, second, live.ID, "", "echo $POOL_K", 5*time.Second)
	if string(res.Stdout) != "pv\n" {
		t.Fatalf("adopted pool sandbox env: %q", res.Stdout)
	}
	if _, err := e.cli.NetworkInspect(ctx, iso.Network, networkInspectOpts()); err == nil {
		t.Fatalf("network %s of removed isolated sandbox still exists", iso.Network)
	}
}

func TestPoolHandOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	cfg := e.config()
	cfg.Pools = []PoolConfig{{Image: e.image, Size: 2}}
	cfg.PrespawnShell = true
	m := newManager(t, e, cfg, nil)
	if err := m.FillPool(ctx); err != nil {
		t.Fatal(err)
	}
	if n := m.PoolReady(e.image); n != 2 {
		t.Fatalf("pool ready %d", n)
	}
	t.Run("plain hand-out keeps the prompt", func(t *testing.T) {
		start := time.Now()
		sb := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "p1", OwnerID: "o", Memory: 96 << 20})
		term, err := m.Attach(ctx, sb.ID, AttachOptions{Cols: 80, Rows: 24})
		if err != nil {
			t.Fatal(err)
		}
		defer term.Close()
		buf := make([]byte, 1)
		if _, err := term.Read(buf); err != nil {
			t.Fatal(err)
		}
		t.Logf("pool hand-out to first prompt byte: %s", time.Since(start))
		if !sb.FromPool {
			t.Fatalf("not from pool")
		}
		st, err := m.Stats(ctx, sb.ID)
		if err != nil || st.MemoryLimit != 96<<20 {
			t.Fatalf("memory update not applied: %+v %v", st, err)
		}
		out := newCollector(term)
		_, _ = term.Write([]byte("id -un; stty size\n"))
		if !out.waitFor("24 80", 5*time.Second) || !strings.Contains(out.String(), "candidate") {
			t.Fatalf("terminal: %q", out.String())
		}
	})
	t.Run("setup after hand-out", func(t *testing.T) {
		sb := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "p2", Setup: []byte("echo 'export FROM_SETUP=yes' > /etc/profile.d/x.sh")})
		if !sb.FromPool {
			t.Fatalf("not from pool")
		}
		term, err := m.Attach(ctx, sb.ID, AttachOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer term.Close()
		out := newCollector(term)
		_, _ = term.Write([]byte("echo v=$FROM_SETUP\n"))
		if !out.waitFor("v=yes", 5*time.Second) {
			t.Fatalf("shell does not see setup: %q", out.String())
		}
	})
	t.Run("non-matching spec is cold", func(t *testing.T) {
		sb := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "p3", CapAdd: []string{"NET_BIND_SERVICE"}})
		if sb.FromPool {
			t.Fatalf("a spec with CapAdd came from the pool")
		}
	})
	// The pool refills on demand.
	if err := m.FillPool(ctx); err != nil {
		t.Fatal(err)
	}
	if n := m.PoolReady(e.image); n != 2 {
		t.Fatalf("pool after refill %d", n)
	}
	l, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pools := 0
	for _, i := range l {
		if i.Pool {
			pools++
		}
	}
	if pools != 2 {
		t.Fatalf("List shows %d pool containers: %+v", pools, l)
	}
}

func TestDriftRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	s, err := m.normalize(Spec{Image: e.image})
	if err != nil {
		t.Fatal(err)
	}
	cc, hc := m.baseline(s, m.labelsFor(s, time.Now(), time.Now(), ""), "")
	cases := []struct {
		name  string
		tweak func()
	}{
		{"privileged", func() { hc.Privileged = true }},
		{"extra capability", func() { hc.CapAdd = []string{"SYS_ADMIN"} }},
		{"host pid", func() { hc.PidMode = "host" }},
		{"bind docker socket", func() { hc.Binds = []string{"/var/run/docker.sock:/var/run/docker.sock"} }},
		{"seccomp unconfined", func() { hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined") }},
		{"no pids limit", func() { var z int64 = 0; hc.PidsLimit = &z }},
		{"swap", func() { hc.MemorySwap = hc.Memory * 2 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// What Docker would report if the daemon (or a plugin) had changed it.
			orig := *hc
			c.tweak()
			got := fakeInspect(cc, hc)
			*hc = orig
			if err := compareBaseline(got, cc, hc); !errors.Is(err, ErrBaseline) {
				t.Fatalf("drift not detected: %v", err)
			} else {
				t.Logf("detected: %v", err)
			}
		})
	}
	// And the real thing: a container Docker made from the baseline passes.
	id, _, err := m.createContainer(ctx, s, containerNamePrefix+randomHex(6), m.labelsFor(s, time.Now(), time.Now(), ""))
	if err != nil {
		t.Fatal(err)
	}
	_ = m.removeContainer(context.Background(), id, "", nil)
}

// TestCreateCancelledLeavesNothing: a Create whose context ends at any
// moment (while the daemon creates, starts or checks the container) leaves
// no container behind, not even one the daemon finished creating after the
// request was abandoned.
func TestCreateCancelledLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	for i := range 16 {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(i)*15*time.Millisecond)
		sb, err := m.Create(cctx, Spec{Image: e.image, AttemptID: fmt.Sprintf("cancel-%d", i)})
		cancel()
		if err == nil {
			if err := m.Remove(ctx, sb.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelInstance+"="+e.inst))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		t.Errorf("left behind: %s %s (%s)", c.ID[:12], c.Names, c.State)
	}
}

// TestReconcileAdoptsExpiredForFreeze: after a restart past a take-home's
// TTL (the server was down over the deadline), its sandbox is adopted, not
// removed, and kept while its submission waits to be frozen, with copy-out
// still working; a practice sandbox past its TTL is hibernated.
func TestReconcileAdoptsExpiredForFreeze(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cleanImages(t, e)
	ctx := sandboxtest.Context(t, testTimeout)
	clock := &fakeClock{t: time.Now()}
	first := newManager(t, e, e.config(), clock.Now)
	th := mustCreate(t, ctx, first, Spec{Image: e.image, AttemptID: "th", TTL: time.Minute, IdleTimeout: -1})
	_ = mustCreate(t, ctx, first, Spec{Image: e.image, AttemptID: "pr", TTL: time.Minute, Hibernate: true})
	run(t, ctx, first, th.ID, "", "echo answer > ~/answer.txt", 10*time.Second)
	clock.Add(10 * time.Minute)
	second := newManager(t, e, e.config(), clock.Now)
	second.SetKeep(func(_ context.Context, a string) bool { return a == "th" })
	rep, err := second.Reconcile(ctx, func(a string) (Adoption, bool) { return Adoption{Hibernate: a == "pr"}, true })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Adopted) != 2 || len(rep.Removed) != 0 {
		t.Fatalf("reconcile past the TTL: %+v", rep)
	}
	// Final grading may come before the reaper's first pass.
	if sb, err := second.Restore(ctx, th.ID, Spec{Image: e.image, AttemptID: "th", IdleTimeout: -1}); err != nil || sb.ID != th.ID {
		t.Fatalf("restore of a take-home awaiting its freeze: %+v %v", sb, err)
	}
	got := second.Reap(ctx)
	if len(got) != 1 || got[0].AttemptID != "pr" || got[0].Reason != ReasonHibernated {
		t.Fatalf("reap after restart: %+v", got)
	}
	rc, err := second.CopyOut(ctx, th.ID, "/home/candidate/answer.txt", 0)
	if err != nil {
		t.Fatalf("copy out of a take-home awaiting its freeze: %v", err)
	}
	_ = rc.Close()
}

// A crash mid-grading leaves the grading run's facts volume behind:
// Reconcile removes it, but not one a running grading still mounts.
func TestReconcileRemovesLeftoverProbeVolumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	labels := m.probeLabels("gone-sandbox")
	mk := func(name string) string {
		v, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name + "-" + randomHex(4), Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.cli.VolumeRemove(context.Background(), v.Name, true) })
		return v.Name
	}
	left, inUse := mk("opsdojo-test-facts-left"), mk("opsdojo-test-facts-busy")
	user, err := e.cli.ContainerCreate(ctx, &container.Config{Image: e.image, Cmd: []string{"sleep", "60"}, Labels: map[string]string{LabelInstance: e.inst}},
		&container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: inUse, Target: "/facts"}}}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.cli.ContainerRemove(context.Background(), user.ID, container.RemoveOptions{Force: true}) })
	if err := e.cli.ContainerStart(ctx, user.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := newManager(t, e, e.config(), nil).Reconcile(ctx, func(string) (Adoption, bool) { return Adoption{}, false })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.RemovedVolumes, left) || slices.Contains(rep.RemovedVolumes, inUse) {
		t.Fatalf("removed volumes %v: want %s removed and %s (mounted) kept", rep.RemovedVolumes, left, inUse)
	}
	if _, err := e.cli.VolumeInspect(ctx, left); !errdefs.IsNotFound(err) {
		t.Fatalf("leftover volume still there: %v", err)
	}
	if _, err := e.cli.VolumeInspect(ctx, inUse); err != nil {
		t.Fatalf("mounted volume removed: %v", err)
	}
}
