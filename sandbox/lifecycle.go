package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
)

// Reasons a sandbox is reaped (logged and returned by Reap).
const (
	ReasonTTL   = "ttl"
	ReasonIdle  = "idle"
	ReasonDisk  = "disk"
	ReasonInode = "inodes"
	ReasonGone  = "gone"
)

// Reaped is one sandbox Reap removed.
type Reaped struct {
	ID, AttemptID, Reason string
}

// RunReaper removes expired, idle and over-quota sandboxes every
// Config.ReapInterval and keeps the warm pool filled, until ctx ends.
func (m *Manager) RunReaper(ctx context.Context) {
	t := time.NewTicker(m.cfg.ReapInterval)
	defer t.Stop()
	m.wakePool()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Reap(ctx)
			m.wakePool() // retries a failed fill; FillPool is a no-op when full
		case <-m.poolWake:
			if err := m.FillPool(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("pool fill", "err", err)
			}
		}
	}
}

// Reap does one pass of RunReaper's checks and returns what it removed or
// hibernated. A held sandbox (Hold: being graded or frozen) is skipped. A
// sandbox made with Spec.Hibernate is hibernated at its idle timeout or TTL,
// never deleted; one past its TTL whose attempt still waits to be frozen
// (SetKeep) is kept for up to HibernateConfig.FreezeWait.
func (m *Manager) Reap(ctx context.Context) []Reaped {
	now := m.now()
	type item struct {
		rec                 *record
		id, attempt, reason string
		disk                int64
	}
	var due, check []item
	m.mu.Lock()
	for id, rec := range m.boxes {
		if rec.asleep || rec.holds > 0 {
			continue
		}
		switch {
		case now.After(rec.sb.Expires):
			due = append(due, item{rec: rec, id: id, attempt: rec.sb.AttemptID, reason: ReasonTTL})
		case rec.sb.IdleTimeout > 0 && now.Sub(rec.lastActive) > rec.sb.IdleTimeout:
			due = append(due, item{rec: rec, id: id, attempt: rec.sb.AttemptID, reason: ReasonIdle})
		case rec.sb.DiskMode == DiskWatchdog:
			check = append(check, item{rec: rec, id: id, attempt: rec.sb.AttemptID, disk: rec.sb.Disk})
		}
	}
	m.mu.Unlock()
	for _, c := range check {
		bytes, inodes, err := m.diskUsage(ctx, c.id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				due = append(due, item{rec: c.rec, id: c.id, attempt: c.attempt, reason: ReasonGone})
			} else {
				m.log.Warn("disk check failed", "id", shortID(c.id), "err", err)
			}
			continue
		}
		m.mu.Lock()
		if rec := m.boxes[c.id]; rec != nil {
			rec.diskBytes, rec.diskInodes = bytes, inodes
		}
		m.mu.Unlock()
		switch {
		case bytes > c.disk:
			due = append(due, item{rec: c.rec, id: c.id, attempt: c.attempt, reason: ReasonDisk})
		case inodes > m.cfg.MaxInodes:
			due = append(due, item{rec: c.rec, id: c.id, attempt: c.attempt, reason: ReasonInode})
		}
	}
	var out []Reaped
	for _, d := range due {
		timed := d.reason == ReasonTTL || d.reason == ReasonIdle
		if timed && d.rec.hibernate {
			r, ok := m.reapHibernate(ctx, d.rec, d.reason)
			if ok {
				out = append(out, r)
			}
			continue
		}
		if d.reason == ReasonTTL && m.keepForFreeze(ctx, d.rec, now) {
			continue
		}
		if !m.stillDue(d.rec) {
			continue
		}
		if err := m.Remove(ctx, d.id); err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Error("reap failed", "id", shortID(d.id), "reason", d.reason, "err", err)
			continue
		}
		m.log.Info("sandbox reaped", "id", shortID(d.id), "attempt", d.attempt, "reason", d.reason)
		out = append(out, Reaped{ID: d.id, AttemptID: d.attempt, Reason: d.reason})
	}
	out = append(out, m.reapImages(ctx)...)
	return out
}

// stillDue re-checks, right before acting, that rec was not taken by a
// grading or freeze (Hold) since the pass looked at it.
func (m *Manager) stillDue(rec *record) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return rec.holds == 0 && !rec.asleep
}

// reapHibernate hibernates rec, due for reason; past MaxHibernations it is
// removed instead. A failed commit keeps the container.
func (m *Manager) reapHibernate(ctx context.Context, rec *record, reason string) (Reaped, bool) {
	unlock := m.hib.lock(rec.sb.AttemptID)
	defer unlock()
	id := rec.sb.ID
	err := m.hibernateLocked(ctx, rec, func(r *record) bool {
		now := m.now()
		return r.holds == 0 && (now.After(r.sb.Expires) || r.sb.IdleTimeout > 0 && now.Sub(r.lastActive) > r.sb.IdleTimeout)
	})
	switch {
	case err == nil:
		m.log.Info("sandbox reaped", "id", shortID(id), "attempt", rec.sb.AttemptID, "reason", reason, "kept_as", m.HibernatedRef(rec.sb.AttemptID))
		return Reaped{ID: id, AttemptID: rec.sb.AttemptID, Reason: ReasonHibernated}, true
	case errors.Is(err, errHibLimit):
		if err := m.Remove(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Error("reap failed", "id", shortID(id), "reason", ReasonHibLimit, "err", err)
			return Reaped{}, false
		}
		m.log.Warn("sandbox removed: it was hibernated too many times", "id", shortID(id), "attempt", rec.sb.AttemptID,
			"max", m.hibConfig().MaxHibernations)
		return Reaped{ID: id, AttemptID: rec.sb.AttemptID, Reason: ReasonHibLimit}, true
	case errors.Is(err, errNotDue), errors.Is(err, ErrNotFound):
		return Reaped{}, false
	default:
		m.log.Error("hibernation failed; the sandbox is kept and retried at the next pass", "id", shortID(id), "attempt", rec.sb.AttemptID, "err", err)
		return Reaped{}, false
	}
}

// keepForFreeze says whether a sandbox past its TTL stays because its
// attempt still waits to be frozen (bounded by FreezeWait).
func (m *Manager) keepForFreeze(ctx context.Context, rec *record, now time.Time) bool {
	m.hib.mu.Lock()
	keep, wait := m.hib.keep, m.hib.cfg.FreezeWait
	m.hib.mu.Unlock()
	if keep == nil || rec.sb.AttemptID == "" {
		return false
	}
	m.mu.Lock()
	if rec.keepUntil.IsZero() {
		rec.keepUntil = rec.sb.Expires.Add(wait)
	}
	until := rec.keepUntil
	m.mu.Unlock()
	if now.After(until) {
		m.log.Error("sandbox past its TTL and the freeze wait: removed unfrozen", "id", shortID(rec.sb.ID), "attempt", rec.sb.AttemptID, "wait", wait)
		return false
	}
	if !keep(ctx, rec.sb.AttemptID) {
		return false
	}
	// Extended a little at a time, so grading and copying out still work
	// (they refuse a sandbox past its TTL) until the freeze ends it.
	ext := now.Add(2*m.cfg.ReapInterval + time.Minute)
	if ext.After(until) {
		ext = until
	}
	m.mu.Lock()
	rec.sb.Expires = ext
	m.mu.Unlock()
	m.log.Info("sandbox past its TTL kept: its attempt waits to be frozen", "id", shortID(rec.sb.ID), "attempt", rec.sb.AttemptID, "until", ext)
	return true
}

// diskUsage measures the writable layer of id: by walking the overlay upper
// directory when this process can read it (same host, root), else through
// the daemon's SizeRw (bytes only, inodes -1).
func (m *Manager) diskUsage(ctx context.Context, id string) (bytes, inodes int64, err error) {
	c, _, err := m.cli.ContainerInspectWithRaw(ctx, id, false)
	if err != nil {
		return 0, 0, fmt.Errorf("sandbox: disk usage: %w: %v", ErrNotFound, err)
	}
	if c.State == nil || !c.State.Running {
		return 0, 0, fmt.Errorf("sandbox: disk usage: %w: container not running", ErrNotFound)
	}
	if upper := c.GraphDriver.Data["UpperDir"]; upper != "" {
		if _, serr := os.Stat(upper); serr == nil {
			return walkUsage(upper, m.cfg.MaxInodes)
		}
	}
	c, _, err = m.cli.ContainerInspectWithRaw(ctx, id, true)
	if err != nil {
		return 0, 0, fmt.Errorf("sandbox: disk usage: inspect size: %w", err)
	}
	if c.SizeRw == nil {
		return -1, -1, nil
	}
	return *c.SizeRw, -1, nil
}

// walkUsage sums allocated bytes and counts inodes under dir, stopping once
// the inode count passes limit (the answer is then "over").
func walkUsage(dir string, limit int64) (bytes, inodes int64, err error) {
	stop := errors.New("over")
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile
		}
		inodes++
		if inodes > limit {
			return stop
		}
		if d.Type().IsRegular() {
			if fi, ierr := d.Info(); ierr == nil {
				bytes += fi.Size()
			}
		}
		return nil
	})
	if errors.Is(err, stop) {
		err = nil
	}
	return bytes, inodes, err
}

// Adoption is what the caller knows of a live attempt's sandbox that the
// container itself may not record.
type Adoption struct {
	// Env is the Spec.Env the sandbox was created with. A container handed
	// out from the warm pool was started before its attempt existed, so its
	// own environment lacks it; nil keeps the container's environment.
	Env map[string]string
	// Hibernate is the Spec.Hibernate of the attempt (not kept in labels).
	Hibernate bool
	// IdleTimeout replaces the container's recorded one when non-zero
	// (<0: none), so a policy change applies to adopted sandboxes too.
	IdleTimeout time.Duration
}

// Reconcile looks at every managed container of this instance at start-up:
// those whose attempt live says is still live are adopted (one past its TTL
// too: the reaper then hibernates it, keeps it for its freeze, or removes
// it), the rest (ended attempts, old pool containers, stale probes) are
// removed, and so are managed networks no container uses and hibernation
// images of attempts that are not live.
func (m *Manager) Reconcile(ctx context.Context, live func(attemptID string) (Adoption, bool)) (ReconcileReport, error) {
	var rep ReconcileReport
	cs, err := m.listManaged(ctx)
	if err != nil {
		return rep, err
	}
	now := m.now()
	m.mu.Lock()
	pooled := map[string]bool{}
	for _, p := range m.pools {
		for _, e := range p.ready {
			pooled[e.id] = true
		}
	}
	m.mu.Unlock()
	for _, c := range cs {
		m.mu.Lock()
		_, tracked := m.boxes[c.ID]
		m.mu.Unlock()
		if tracked || pooled[c.ID] {
			continue
		}
		sb := sandboxFromLabels(c.ID, c.Names, c.Image, c.Labels)
		var adopt Adoption
		keep := c.Labels[LabelProbe] == "" && sb.AttemptID != "" && c.State == "running" && live != nil
		if keep {
			adopt, keep = live(sb.AttemptID)
		}
		if !keep {
			if err := m.removeContainer(ctx, c.ID, c.Labels[LabelNetwork], nil); err != nil {
				rep.Errors = append(rep.Errors, err)
				continue
			}
			rep.Removed = append(rep.Removed, c.ID)
			continue
		}
		if sb.User == "" {
			sb.User = DefaultUser
		}
		sb.DiskMode = m.diskMode()
		if adopt.IdleTimeout != 0 {
			sb.IdleTimeout = adopt.IdleTimeout
		}
		rec := &record{sb: sb, lastActive: now, diskBytes: -1, diskInodes: -1, hibernate: adopt.Hibernate, baseImage: sb.Image}
		if ins, err := m.cli.ContainerInspect(ctx, c.ID); err == nil && ins.Config != nil {
			rec.env = specEnv(ins.Config.Env)
			if u := ins.HostConfig.Ulimits; u != nil {
				for _, l := range u {
					if l.Name == "fsize" {
						rec.sb.Disk = l.Hard
					}
				}
			}
		}
		if adopt.Env != nil {
			rec.env = envList(adopt.Env)
		}
		m.mu.Lock()
		m.boxes[c.ID] = rec
		if sb.OwnerID != "" {
			m.owners[sb.OwnerID]++
		}
		m.mu.Unlock()
		rep.Adopted = append(rep.Adopted, c.ID)
	}
	m.reconcileImages(ctx, func(attemptID string) bool {
		if live == nil {
			return false
		}
		_, ok := live(attemptID)
		return ok
	}, &rep)
	// Networks left without their container.
	f := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	if m.cfg.Instance != "" {
		f.Add("label", LabelInstance+"="+m.cfg.Instance)
	}
	nets, err := m.cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Errorf("sandbox: reconcile: list networks: %w", err))
	}
	for _, n := range nets {
		ins, err := m.cli.NetworkInspect(ctx, n.ID, network.InspectOptions{})
		if err == nil && len(ins.Containers) == 0 {
			if err := m.cli.NetworkRemove(ctx, n.ID); err != nil {
				rep.Errors = append(rep.Errors, fmt.Errorf("sandbox: reconcile: remove network %s: %w", n.Name, err))
			}
		}
	}
	// Volumes of grading runs (the probe's facts socket) left by a crash
	// mid-grading. One still mounted (a grading of another server of this
	// instance) is refused by the daemon and kept.
	vols, err := m.cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Errorf("sandbox: reconcile: list volumes: %w", err))
	}
	for _, v := range vols.Volumes {
		if v == nil || v.Labels[LabelProbe] == "" {
			continue
		}
		if err := m.cli.VolumeRemove(ctx, v.Name, false); err == nil {
			rep.RemovedVolumes = append(rep.RemovedVolumes, v.Name)
		} else if !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
			rep.Errors = append(rep.Errors, fmt.Errorf("sandbox: reconcile: remove volume %s: %w", v.Name, err))
		}
	}
	m.log.Info("reconciled", "adopted", len(rep.Adopted), "removed", len(rep.Removed), "hibernated", len(rep.Hibernated),
		"removed_images", len(rep.RemovedImages), "removed_volumes", len(rep.RemovedVolumes), "errors", len(rep.Errors))
	return rep, errors.Join(rep.Errors...)
}

// specEnv drops the image's usual variables, keeping what a Spec added.
func specEnv(env []string) []string {
	var out []string
	for _, e := range env {
		if len(e) >= 5 && (e[:5] == "PATH=" || e[:5] == "LANG=") || len(e) > 16 && e[:16] == "DEBIAN_FRONTEND=" {
			continue
		}
		out = append(out, e)
	}
	return out
}
