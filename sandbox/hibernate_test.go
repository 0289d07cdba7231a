package sandbox

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// cleanImages removes the hibernation images of the test's instance (the
// sandboxtest sweep only knows containers and networks).
func cleanImages(t *testing.T, e env) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		imgs, err := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelInstance+"="+e.inst), filters.Arg("label", LabelHibernated))})
		if err != nil {
			return
		}
		for _, im := range imgs {
			_, _ = e.cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
}

// TestHibernateRestore: an idle practice sandbox is committed and removed,
// not deleted; Restore brings back its files (also after a restart, from a
// new Manager), with the baseline, environment, isolation and resume
// script; Discard removes the image.
func TestHibernateRestore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cleanImages(t, e)
	ctx := sandboxtest.Context(t, 3*testTimeout)
	clock := &fakeClock{t: time.Now()}
	cfg := e.config()
	m := newManager(t, e, cfg, clock.Now)
	spec := Spec{Image: e.image, AttemptID: "hib-1", OwnerID: "ann", ChallengeID: "c", Hibernate: true,
		TTL: time.Hour, IdleTimeout: 10 * time.Minute, Network: NetworkIsolated, Env: map[string]string{"K": "v"},
		OnResume: []byte("date > /run/resumed")}
	sb := mustCreate(t, ctx, m, spec)
	run(t, ctx, m, sb.ID, "", "echo my-work > ~/work.txt", 10*time.Second)
	run(t, ctx, m, sb.ID, "root", "echo fixed > /etc/fixed.conf; rm /etc/hostname.bak 2>/dev/null; true", 10*time.Second)
	// /etc/hosts is the daemon's bind mount, not the container's layer:
	// a commit alone would lose this fix.
	run(t, ctx, m, sb.ID, "root", "echo '10.9.9.9 db.internal' >> /etc/hosts", 10*time.Second)

	clock.Add(11 * time.Minute)
	got := m.Reap(ctx)
	if len(got) != 1 || got[0].ID != sb.ID || got[0].Reason != ReasonHibernated {
		t.Fatalf("reap of an idle hibernating sandbox: %+v", got)
	}
	if _, err := e.cli.ContainerInspect(ctx, sb.ID); err == nil {
		t.Fatalf("hibernated container still exists")
	}
	if _, err := e.cli.NetworkInspect(ctx, sb.Network, networkInspectOpts()); err == nil {
		t.Fatalf("network of hibernated sandbox still exists")
	}
	if ok, err := m.Hibernated(ctx, "hib-1"); err != nil || !ok {
		t.Fatalf("no hibernation image: %v %v", ok, err)
	}
	if _, err := m.Exec(ctx, sb.ID, []string{"true"}, ExecOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("exec on hibernated: %v", err)
	}

	r1, err := m.Restore(ctx, sb.ID, spec)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if r1.ID == sb.ID || r1.Image != e.image || r1.AttemptID != "hib-1" || r1.OwnerID != "ann" {
		t.Fatalf("restored sandbox: %+v", r1)
	}
	res := run(t, ctx, m, r1.ID, "", "cat ~/work.txt /etc/fixed.conf; echo K=$K; id -un; test -s /run/resumed && echo resumed; grep -c db.internal /etc/hosts; test -e /.opsdojo-hibernate || echo no-stash; ip route show default | wc -l", 10*time.Second)
	want := "my-work\nfixed\nK=v\ncandidate\nresumed\n1\nno-stash\n0\n"
	if testRuntime() != RuntimeRunc {
		// gVisor (hostinet) keeps the routing table it booted with, for
		// a fresh isolated sandbox too; the network is internal anyway.
		want = strings.TrimSuffix(want, "0\n") + "1\n"
	}
	if string(res.Stdout) != want {
		t.Fatalf("restored sandbox says %q (stderr %q), want %q", res.Stdout, res.Stderr, want)
	}
	ins, err := e.cli.ContainerInspect(ctx, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := ins.HostConfig
	if !slices.Equal(h.CapDrop, []string{"ALL"}) || h.Memory != testMemory || h.PidsLimit == nil || *h.PidsLimit < testPids || h.Runtime != m.cfg.ociRuntime(spec.Network) {
		t.Fatalf("restored sandbox lost its baseline: capdrop=%v memory=%d pids=%s runtime=%q", h.CapDrop, h.Memory, fmtPtr(h.PidsLimit), h.Runtime)
	}
	if l := ins.Config.Labels; l[LabelAttempt] != "hib-1" || l[LabelPool] != "" || l[LabelInstance] != e.inst || l[LabelBaseImage] != e.image {
		t.Fatalf("restored labels: %v", l)
	}
	// Restore of a running sandbox is idempotent.
	if again, err := m.Restore(ctx, sb.ID, spec); err != nil || again.ID != r1.ID {
		t.Fatalf("second Restore: %+v %v", again, err)
	}
	// Work after the restore, hibernated again by its TTL this time.
	run(t, ctx, m, r1.ID, "", "echo more >> ~/work.txt", 10*time.Second)
	clock.Add(2 * time.Hour)
	if got := m.Reap(ctx); len(got) != 1 || got[0].Reason != ReasonHibernated {
		t.Fatalf("reap past TTL: %+v", got)
	}

	// A restart: a new Manager knows the image through Reconcile.
	second := newManager(t, e, cfg, clock.Now)
	rep, err := second.Reconcile(ctx, func(a string) (Adoption, bool) { return Adoption{}, a == "hib-1" })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Hibernated, "hib-1") {
		t.Fatalf("reconcile did not keep the hibernated attempt: %+v", rep)
	}
	r2, err := second.Restore(ctx, r1.ID, spec)
	if err != nil {
		t.Fatalf("Restore after restart: %v", err)
	}
	res = run(t, ctx, second, r2.ID, "", "cat ~/work.txt", 10*time.Second)
	if string(res.Stdout) != "my-work\nmore\n" {
		t.Fatalf("after restart: %q", res.Stdout)
	}
	ins, err = e.cli.ContainerInspect(ctx, r2.ID)
	if err != nil || ins.Config.Labels[LabelHibernations] != "2" {
		t.Fatalf("hibernation count: %v %v", ins.Config.Labels, err)
	}
	// The attempt ends: sandbox and image go.
	if err := second.Remove(ctx, r2.ID); err != nil {
		t.Fatal(err)
	}
	if err := second.Discard(ctx, "hib-1"); err != nil {
		t.Fatal(err)
	}
	if ok, err := second.Hibernated(ctx, "hib-1"); err != nil || ok {
		t.Fatalf("image left after Discard: %v %v", ok, err)
	}
	if _, err := second.Restore(ctx, r2.ID, spec); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Restore of a discarded attempt: %v", err)
	}
}

// TestReconcileRemovesImagesOfEndedAttempts: a hibernation image whose
// attempt is no longer live is removed at start-up; past the retention
// the reaper removes it too.
func TestReconcileRemovesImagesOfEndedAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cleanImages(t, e)
	ctx := sandboxtest.Context(t, testTimeout)
	clock := &fakeClock{t: time.Now()}
	m := newManager(t, e, e.config(), clock.Now)
	m.SetHibernation(HibernateConfig{Retention: time.Hour})
	for _, a := range []string{"ended", "old"} {
		sb := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: a, Hibernate: true, TTL: time.Hour})
		if err := m.Hibernate(ctx, sb.ID); err != nil {
			t.Fatal(err)
		}
	}
	second := newManager(t, e, e.config(), clock.Now)
	second.SetHibernation(HibernateConfig{Retention: time.Hour})
	rep, err := second.Reconcile(ctx, func(a string) (Adoption, bool) { return Adoption{}, a == "old" })
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RemovedImages) != 1 || !slices.Equal(rep.Hibernated, []string{"old"}) {
		t.Fatalf("reconcile: %+v", rep)
	}
	if ok, _ := second.Hibernated(ctx, "ended"); ok {
		t.Fatalf("image of an ended attempt kept")
	}
	clock.Add(2 * time.Hour)
	got := second.Reap(ctx)
	if len(got) != 1 || got[0].AttemptID != "old" || got[0].Reason != ReasonRetention {
		t.Fatalf("retention reap: %+v", got)
	}
}

// TestHibernationCaps: past MaxPerOwner the owner's oldest image is
// evicted, never another owner's.
func TestHibernationCaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cleanImages(t, e)
	ctx := sandboxtest.Context(t, testTimeout)
	clock := &fakeClock{t: time.Now()}
	m := newManager(t, e, e.config(), clock.Now)
	m.SetHibernation(HibernateConfig{MaxPerOwner: 2})
	for _, a := range []string{"a1", "a2", "b1", "a3"} {
		sb := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: a, OwnerID: a[:1], Hibernate: true})
		if err := m.Hibernate(ctx, sb.ID); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Minute) // hibernated-at orders the images
	}
	for a, want := range map[string]bool{"a1": false, "a2": true, "a3": true, "b1": true} {
		if ok, err := m.Hibernated(ctx, a); err != nil || ok != want {
			t.Errorf("%s hibernated=%v want %v (%v)", a, ok, want, err)
		}
	}
}

// TestReaperSparesHeldAndFreezing: a sandbox being graded (Hold) is
// neither removed nor hibernated; a take-home past its TTL whose attempt
// waits to be frozen stays until the freeze wait.
func TestReaperSparesHeldAndFreezing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	clock := &fakeClock{t: time.Now()}
	m := newManager(t, e, e.config(), clock.Now)
	m.SetHibernation(HibernateConfig{FreezeWait: 30 * time.Minute})
	frozen := map[string]bool{"th": true}
	m.SetKeep(func(_ context.Context, a string) bool { return frozen[a] })
	held := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "graded", TTL: time.Minute})
	th := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "th", TTL: time.Minute, IdleTimeout: -1})
	release := m.Hold(held.ID)
	clock.Add(5 * time.Minute)
	if got := m.Reap(ctx); len(got) != 0 {
		t.Fatalf("reaped while held / awaiting freeze: %+v", got)
	}
	release()
	got := m.Reap(ctx)
	if len(got) != 1 || got[0].ID != held.ID {
		t.Fatalf("after release: %+v", got)
	}
	clock.Add(time.Hour) // past TTL + FreezeWait
	got = m.Reap(ctx)
	if len(got) != 1 || got[0].ID != th.ID || got[0].Reason != ReasonTTL {
		t.Fatalf("past the freeze wait: %+v", got)
	}
}

// TestNoIdleTimeout: IdleTimeout < 0 (take-homes) is never idle-reaped.
func TestNoIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	clock := &fakeClock{t: time.Now()}
	cfg := e.config()
	cfg.DefaultIdle = time.Minute
	m := newManager(t, e, cfg, clock.Now)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image, AttemptID: "take-home", TTL: 3 * time.Hour, IdleTimeout: -1})
	clock.Add(2 * time.Hour)
	if got := m.Reap(ctx); len(got) != 0 {
		t.Fatalf("reaped: %+v", got)
	}
	if res := run(t, ctx, m, sb.ID, "", "echo ok", 5*time.Second); !strings.Contains(string(res.Stdout), "ok") {
		t.Fatalf("exec: %q", res.Stdout)
	}
}
