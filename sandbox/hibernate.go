package sandbox

// Hibernation keeps a candidate's work when a practice sandbox is reaped.
//
// A sandbox made with Spec.Hibernate is not deleted at its idle timeout or
// TTL: the reaper commits its filesystem (the writable layer) to a local
// image named after the attempt, then removes the container. Restore makes
// a new container from that image with the same baseline, limits, network
// mode and labels as Create (no Files, no Setup), runs Spec.OnResume, and
// hands out the new sandbox. Processes do not survive: a restored sandbox
// is like a rebooted machine (the tmpfs mounts /tmp and /var/tmp start
// empty). The image is labelled with its attempt and instance, so it
// survives a server restart (Reconcile keeps the images of live attempts
// and removes the others), and it is removed by Discard (attempt ended or
// reset), after HibernateConfig.Retention, or when the caps on hibernated
// images are reached (the oldest goes first).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/errdefs"
)

// Labels of hibernation images (and of the containers restored from them).
const (
	LabelHibernated   = "io.opsdojo.hibernated"    // on an image: the attempt ID it holds
	LabelHibernatedAt = "io.opsdojo.hibernated-at" // RFC 3339
	LabelHibernations = "io.opsdojo.hibernations"  // how many times the attempt was hibernated
	LabelBaseImage    = "io.opsdojo.base-image"    // the image the attempt's first sandbox was made from
)

// hibernateRepo is the repository of hibernation images; the tag is a hash
// of instance and attempt (attempt IDs need not be valid tags).
const hibernateRepo = "opsdojo-hibernated"

// Defaults of HibernateConfig.
const (
	DefaultHibernateRetention   = 7 * 24 * time.Hour
	DefaultMaxHibernated        = 200
	DefaultMaxHibernatedPerUser = 10
	DefaultMaxHibernations      = 40 // overlay2 stacks at most 128 layers; each hibernation adds one
	DefaultFreezeWait           = time.Hour
)

// Reasons of Reaped beside the removal ones of lifecycle.go.
const (
	ReasonHibernated = "hibernated"   // committed to an image, container removed
	ReasonRetention  = "retention"    // hibernation image older than Retention
	ReasonEvicted    = "evicted"      // hibernation image removed to stay within the caps
	ReasonHibLimit   = "hibernations" // MaxHibernations reached: removed instead
)

// HibernateConfig bounds hibernation images. Zero values take the defaults.
type HibernateConfig struct {
	Retention   time.Duration // an image not restored for this long is removed
	MaxImages   int           // hibernation images of this instance
	MaxPerOwner int           // hibernation images per Spec.OwnerID
	// MaxHibernations per attempt; past it the sandbox is removed at
	// its next reaping (each hibernation adds an image layer).
	MaxHibernations int
	// FreezeWait is how long the reaper keeps a sandbox past its TTL while
	// the keep hook (SetKeep) says its attempt still waits to be frozen.
	FreezeWait time.Duration
}

func (c HibernateConfig) withDefaults() HibernateConfig {
	if c.Retention <= 0 {
		c.Retention = DefaultHibernateRetention
	}
	if c.MaxImages <= 0 {
		c.MaxImages = DefaultMaxHibernated
	}
	if c.MaxPerOwner <= 0 {
		c.MaxPerOwner = DefaultMaxHibernatedPerUser
	}
	if c.MaxHibernations <= 0 {
		c.MaxHibernations = DefaultMaxHibernations
	}
	if c.FreezeWait <= 0 {
		c.FreezeWait = DefaultFreezeWait
	}
	return c
}

// hibernation is the Manager's hibernation state.
type hibernation struct {
	mu    sync.Mutex
	cfg   HibernateConfig
	locks map[string]*attemptLock
	keep  func(ctx context.Context, attemptID string) bool
}

type attemptLock struct {
	mu sync.Mutex
	n  int
}

func (h *hibernation) init() {
	h.cfg = HibernateConfig{}.withDefaults()
	h.locks = map[string]*attemptLock{}
}

// lock serializes hibernation and restore of one attempt.
func (h *hibernation) lock(attemptID string) func() {
	h.mu.Lock()
	l := h.locks[attemptID]
	if l == nil {
		l = &attemptLock{}
		h.locks[attemptID] = l
	}
	l.n++
	h.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		h.mu.Lock()
		if l.n--; l.n == 0 {
			delete(h.locks, attemptID)
		}
		h.mu.Unlock()
	}
}

// tryLock is lock without waiting (false when another holds it): the cap
// and retention passes skip a busy attempt rather than order locks.
func (h *hibernation) tryLock(attemptID string) (func(), bool) {
	h.mu.Lock()
	l := h.locks[attemptID]
	if l == nil {
		l = &attemptLock{}
		h.locks[attemptID] = l
	}
	l.n++
	h.mu.Unlock()
	release := func() {
		h.mu.Lock()
		if l.n--; l.n == 0 {
			delete(h.locks, attemptID)
		}
		h.mu.Unlock()
	}
	if !l.mu.TryLock() {
		release()
		return nil, false
	}
	return func() {
		l.mu.Unlock()
		release()
	}, true
}

// SetHibernation sets the bounds of hibernation images (call before use).
func (m *Manager) SetHibernation(c HibernateConfig) {
	m.hib.mu.Lock()
	defer m.hib.mu.Unlock()
	m.hib.cfg = c.withDefaults()
}

// SetKeep installs the hook the reaper asks before removing a sandbox past
// its TTL that does not hibernate (a take-home): while keep says its
// attempt still waits to be frozen (graded, files copied), the sandbox
// stays, for at most HibernateConfig.FreezeWait past the TTL.
func (m *Manager) SetKeep(keep func(ctx context.Context, attemptID string) bool) {
	m.hib.mu.Lock()
	defer m.hib.mu.Unlock()
	m.hib.keep = keep
}

func (m *Manager) hibConfig() HibernateConfig {
	m.hib.mu.Lock()
	defer m.hib.mu.Unlock()
	return m.hib.cfg
}

// Hold marks sandbox id busy (being graded or frozen): the reaper neither
// hibernates nor removes it until release is called. Unknown ids give a
// no-op release.
func (m *Manager) Hold(id string) (release func()) {
	m.mu.Lock()
	rec := m.findLocked(id)
	if rec != nil {
		rec.holds++
	}
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			if rec == nil {
				return
			}
			m.mu.Lock()
			rec.holds--
			m.mu.Unlock()
		})
	}
}

// HibernatedRef is the image reference holding attemptID's hibernated work.
func (m *Manager) HibernatedRef(attemptID string) string {
	sum := sha256.Sum256([]byte(m.cfg.Instance + "\x00" + attemptID))
	return hibernateRepo + ":" + hex.EncodeToString(sum[:20])
}

// Hibernated reports whether attemptID has a hibernation image.
func (m *Manager) Hibernated(ctx context.Context, attemptID string) (bool, error) {
	_, _, err := m.cli.ImageInspectWithRaw(ctx, m.HibernatedRef(attemptID))
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("sandbox: inspect hibernation image of %s: %w", attemptID, err)
}

// Hibernate commits sandbox id's filesystem to its attempt's hibernation
// image and removes the container. The container is kept when the commit
// fails (nothing is lost to an error). A held sandbox is refused.
func (m *Manager) Hibernate(ctx context.Context, id string) error {
	m.mu.Lock()
	rec := m.findLocked(id)
	m.mu.Unlock()
	if rec == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	unlock := m.hib.lock(rec.sb.AttemptID)
	defer unlock()
	return m.hibernateLocked(ctx, rec, nil)
}

// hibernateLocked does Hibernate with the attempt's lock held. still, when
// set, is asked under m.mu right before the commit whether the sandbox is
// still due (a candidate may have come back meanwhile).
func (m *Manager) hibernateLocked(ctx context.Context, rec *record, still func(*record) bool) error {
	m.mu.Lock()
	switch {
	case m.boxes[rec.sb.ID] != rec || rec.asleep:
		m.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotFound, shortID(rec.sb.ID))
	case rec.holds > 0:
		m.mu.Unlock()
		return fmt.Errorf("sandbox: hibernate %s: busy (being graded or frozen)", shortID(rec.sb.ID))
	case still != nil && !still(rec):
		m.mu.Unlock()
		return errNotDue
	}
	rec.asleep = true
	sb := rec.sb
	base := rec.baseImage
	m.mu.Unlock()
	wake := func() {
		m.mu.Lock()
		rec.asleep = false
		m.mu.Unlock()
	}
	ins, err := m.cli.ContainerInspect(ctx, sb.ID)
	if err != nil {
		wake()
		if errdefs.IsNotFound(err) {
			return fmt.Errorf("%w: %s vanished before hibernation", ErrNotFound, shortID(sb.ID))
		}
		return fmt.Errorf("sandbox: hibernate %s: inspect: %w", shortID(sb.ID), err)
	}
	if base == "" {
		base = ins.Config.Labels[LabelBaseImage]
	}
	if base == "" {
		base = sb.Image
	}
	count := 1
	if n, err := strconv.Atoi(ins.Config.Labels[LabelHibernations]); err == nil {
		count = n + 1
	}
	ref := m.HibernatedRef(sb.AttemptID)
	if count > m.hibConfig().MaxHibernations {
		wake()
		return errHibLimit
	}
	// Labels inherited from the container (pool, network, expiry …) are
	// blanked: the image only says whose work it holds.
	labels := map[string]string{}
	for k := range ins.Config.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			labels[k] = ""
		}
	}
	labels[LabelManaged] = "true"
	labels[LabelInstance] = m.cfg.Instance
	labels[LabelHibernated] = sb.AttemptID
	labels[LabelOwner] = sb.OwnerID
	labels[LabelChallenge] = sb.ChallengeID
	labels[LabelUser] = sb.User
	labels[LabelBaseImage] = base
	labels[LabelHibernatedAt] = m.now().UTC().Format(time.RFC3339)
	labels[LabelHibernations] = strconv.Itoa(count)
	start := time.Now()
	if err := m.carryDaemonFiles(ctx, sb.ID); err != nil {
		// The rest of the work is still worth keeping.
		m.log.Warn("hibernation will not keep the daemon-mounted files", "id", shortID(sb.ID), "err", err)
	}
	if _, err := m.cli.ContainerCommit(ctx, sb.ID, container.CommitOptions{
		Reference: ref, Pause: true, Comment: "opsdojo hibernation of attempt " + sb.AttemptID,
		Config: &container.Config{Labels: labels},
	}); err != nil {
		wake()
		return fmt.Errorf("sandbox: hibernate %s: commit: %w", shortID(sb.ID), err)
	}
	// Committed: the container can go.
	m.mu.Lock()
	var shell *shellSlot
	if m.boxes[sb.ID] == rec {
		delete(m.boxes, sb.ID)
		if sb.OwnerID != "" {
			m.owners[sb.OwnerID]--
		}
	}
	shell, rec.shell = rec.shell, nil
	m.mu.Unlock()
	cctx, cancel := m.cleanupCtx(ctx)
	defer cancel()
	if err := m.removeContainer(cctx, sb.ID, sb.Network, shell); err != nil {
		m.log.Warn("hibernated sandbox not fully removed", "id", shortID(sb.ID), "err", err)
	}
	m.log.Info("sandbox hibernated", "id", shortID(sb.ID), "attempt", sb.AttemptID, "image", ref, "count", count, "took", time.Since(start))
	m.wakePool()
	m.enforceHibernationCaps(cctx, sb.AttemptID, sb.OwnerID)
	return nil
}

var (
	errNotDue   = errors.New("sandbox: no longer due")
	errHibLimit = errors.New("sandbox: hibernation limit reached")
)

// Restore returns the live sandbox of s.AttemptID: the tracked sandbox id
// when it is running (touched: the candidate is back; one past its TTL is
// hibernated and restored with a fresh TTL when it hibernates), else a new
// container made from the attempt's hibernation image with s's baseline,
// limits, network mode, labels and environment; s.OnResume then runs as
// root (its failure is logged, the sandbox kept). Without either it fails
// with ErrNotFound. s is the attempt's Spec as for Create (Files and Setup
// are not used).
func (m *Manager) Restore(ctx context.Context, id string, s Spec) (*Sandbox, error) {
	if s.AttemptID == "" {
		return nil, errors.New("sandbox: restore: spec has no attempt")
	}
	unlock := m.hib.lock(s.AttemptID)
	defer unlock()
	m.mu.Lock()
	rec := m.findLocked(id)
	if rec == nil || rec.asleep || rec.sb.AttemptID != s.AttemptID {
		rec = nil
		for _, r := range m.boxes { // restored earlier under another id
			if r.sb.AttemptID == s.AttemptID && !r.asleep {
				rec = r
			}
		}
	}
	var expired bool
	if rec != nil {
		expired = m.now().After(rec.sb.Expires)
		if !expired {
			rec.lastActive = m.now()
		}
	}
	var sb Sandbox
	if rec != nil {
		sb = rec.sb
	}
	m.mu.Unlock()
	if rec != nil && !expired {
		return &sb, nil
	}
	if rec != nil {
		if !rec.hibernate {
			// A take-home past its TTL whose submission still waits to
			// be frozen (the reaper may not have extended it yet).
			if m.keepForFreeze(ctx, rec, m.now()) {
				m.mu.Lock()
				sb = rec.sb
				m.mu.Unlock()
				return &sb, nil
			}
			return nil, fmt.Errorf("%w: %s passed its TTL at %s", ErrExpired, shortID(sb.ID), sb.Expires.Format(time.RFC3339))
		}
		if err := m.hibernateLocked(ctx, rec, nil); err != nil {
			return nil, fmt.Errorf("sandbox: restore %s: hibernate the expired sandbox first: %w", s.AttemptID, err)
		}
	}
	ref := m.HibernatedRef(s.AttemptID)
	img, _, err := m.cli.ImageInspectWithRaw(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%w: attempt %s has neither a running nor a hibernated sandbox", ErrNotFound, s.AttemptID)
	}
	if err != nil {
		return nil, unavailable(fmt.Errorf("sandbox: restore %s: inspect image: %w", s.AttemptID, err))
	}
	if img.Config == nil || img.Config.Labels[LabelHibernated] != s.AttemptID || img.Config.Labels[LabelInstance] != m.cfg.Instance {
		return nil, fmt.Errorf("%w: image %s does not hold attempt %s", ErrBaseline, ref, s.AttemptID)
	}
	base := img.Config.Labels[LabelBaseImage]
	if s.Image == "" {
		s.Image = base
	}
	s, err = m.normalize(s)
	if err != nil {
		return nil, err
	}
	s.Hibernate = true
	if err := m.reserve(s.OwnerID); err != nil {
		return nil, err
	}
	out, err := m.restore(ctx, s, ref, base, img.Config.Labels[LabelHibernations])
	m.unreserve(s.OwnerID, out)
	if err != nil {
		return nil, unavailable(err)
	}
	m.log.Info("sandbox restored", "id", shortID(out.sb.ID), "attempt", s.AttemptID, "image", ref)
	sb = out.sb
	return &sb, nil
}

func (m *Manager) restore(ctx context.Context, s Spec, ref, base, count string) (*record, error) {
	start := m.now()
	rec := &record{
		sb: Sandbox{
			Image: base, User: s.User, AttemptID: s.AttemptID, ChallengeID: s.ChallengeID, OwnerID: s.OwnerID,
			Network: NetworkNone, Created: start, Expires: start.Add(s.TTL), IdleTimeout: s.IdleTimeout, Disk: s.Disk,
		},
		env: envList(s.Env), lastActive: start, diskBytes: -1, diskInodes: -1,
		hibernate: true, baseImage: base,
	}
	labels := m.labelsFor(s, start, rec.sb.Expires, "")
	labels[LabelBaseImage] = base
	labels[LabelHibernations] = count
	labels[LabelPool], labels[LabelNetwork], labels[LabelHibernated] = "", "", ""
	cs := s
	cs.Image = ref
	name := containerNamePrefix + randomHex(8)
	id, netName, err := m.createContainer(ctx, cs, name, labels)
	if err != nil {
		return nil, fmt.Errorf("sandbox: restore %s: %w", s.AttemptID, err)
	}
	rec.sb.ID, rec.sb.Name = id, name
	if netName != "" {
		rec.sb.Network = netName
	}
	m.mu.Lock()
	rec.sb.DiskMode = m.diskMode()
	m.mu.Unlock()
	if err := m.restoreDaemonFiles(ctx, id, rec.env); err != nil {
		m.log.Warn("daemon-mounted files not restored; sandbox kept", "attempt", s.AttemptID, "err", err)
	}
	if len(s.OnResume) > 0 {
		res, err := m.exec(ctx, id, []string{"sh", "-c", setupWrapper}, execParams{
			user: "root", env: rec.env, stdin: strings.NewReader(string(s.OnResume)),
			timeout: s.SetupTimeout, maxOutput: m.cfg.MaxExecOutput,
		})
		switch {
		case err != nil:
			m.log.Warn("resume script could not run; sandbox kept", "attempt", s.AttemptID, "err", err)
		case res.TimedOut || res.ExitCode != 0:
			m.log.Warn("resume script failed; sandbox kept", "attempt", s.AttemptID, "exit", res.ExitCode,
				"timed_out", res.TimedOut, "output", tail(res.Stdout, res.Stderr))
		}
	}
	if m.cfg.PrespawnShell {
		rec.shell = m.prespawn(ctx, id, s.User, rec.env)
	}
	rec.lastActive = m.now() // idle from the end of the restore, not its start
	return rec, nil
}

// Discard removes attemptID's hibernation image (attempt ended or reset).
// No image is not an error.
func (m *Manager) Discard(ctx context.Context, attemptID string) error {
	unlock := m.hib.lock(attemptID)
	defer unlock()
	return m.removeImage(ctx, m.HibernatedRef(attemptID))
}

func (m *Manager) removeImage(ctx context.Context, ref string) error {
	_, err := m.cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("sandbox: remove hibernation image %s: %w", ref, err)
	}
	return nil
}

// hibImage is one hibernation image of this instance.
type hibImage struct {
	ref, attempt, owner string
	at                  time.Time
	size                int64
}

// hibernatedImages lists this instance's hibernation images, oldest first.
func (m *Manager) hibernatedImages(ctx context.Context) ([]hibImage, error) {
	f := filters.NewArgs(filters.Arg("label", LabelHibernated), filters.Arg("reference", hibernateRepo))
	if m.cfg.Instance != "" {
		f.Add("label", LabelInstance+"="+m.cfg.Instance)
	}
	imgs, err := m.cli.ImageList(ctx, image.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("sandbox: list hibernation images: %w", err)
	}
	var out []hibImage
	for _, im := range imgs {
		a := im.Labels[LabelHibernated]
		if a == "" {
			continue
		}
		h := hibImage{ref: m.HibernatedRef(a), attempt: a, owner: im.Labels[LabelOwner], size: im.Size}
		h.at, _ = time.Parse(time.RFC3339, im.Labels[LabelHibernatedAt])
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b hibImage) int { return a.at.Compare(b.at) })
	return out, nil
}

// enforceHibernationCaps removes the oldest hibernation images (never the
// one of except) while the instance or owner holds more than allowed.
func (m *Manager) enforceHibernationCaps(ctx context.Context, except, owner string) []Reaped {
	imgs, err := m.hibernatedImages(ctx)
	if err != nil {
		m.log.Warn("hibernation caps", "err", err)
		return nil
	}
	cfg := m.hibConfig()
	total, mine := len(imgs), 0
	for _, im := range imgs {
		if owner != "" && im.owner == owner {
			mine++
		}
	}
	var out []Reaped
	for _, im := range imgs {
		over := total > cfg.MaxImages || (owner != "" && im.owner == owner && mine > cfg.MaxPerOwner)
		if !over || im.attempt == except || m.running(im.attempt) {
			continue
		}
		if !m.removeImageUnlessBusy(ctx, im, "evict hibernation image") {
			continue
		}
		m.log.Warn("hibernation image evicted to stay within the caps", "attempt", im.attempt, "owner", im.owner,
			"hibernated_at", im.at, "max_images", cfg.MaxImages, "max_per_owner", cfg.MaxPerOwner)
		total--
		if im.owner == owner {
			mine--
		}
		out = append(out, Reaped{AttemptID: im.attempt, Reason: ReasonEvicted})
	}
	return out
}

// removeImageUnlessBusy removes im's image unless its attempt is being
// hibernated or restored (skipped, tried again next pass); a failure is
// logged with what. It reports whether the image is gone.
func (m *Manager) removeImageUnlessBusy(ctx context.Context, im hibImage, what string) bool {
	unlock, ok := m.hib.tryLock(im.attempt)
	if !ok {
		return false
	}
	err := m.removeImage(ctx, im.ref)
	unlock()
	if err != nil {
		m.log.Warn(what, "attempt", im.attempt, "err", err)
		return false
	}
	return true
}

// running reports whether attemptID has a tracked, awake sandbox.
func (m *Manager) running(attemptID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.boxes {
		if r.sb.AttemptID == attemptID && !r.asleep {
			return true
		}
	}
	return false
}

// reapImages removes hibernation images past the retention.
func (m *Manager) reapImages(ctx context.Context) []Reaped {
	imgs, err := m.hibernatedImages(ctx)
	if err != nil {
		m.log.Warn("reap hibernation images", "err", err)
		return nil
	}
	cfg := m.hibConfig()
	now := m.now()
	var out []Reaped
	for _, im := range imgs {
		if im.at.IsZero() || now.Sub(im.at) <= cfg.Retention || m.running(im.attempt) {
			continue
		}
		if !m.removeImageUnlessBusy(ctx, im, "remove old hibernation image") {
			continue
		}
		m.log.Info("hibernation image removed after the retention", "attempt", im.attempt, "hibernated_at", im.at)
		out = append(out, Reaped{AttemptID: im.attempt, Reason: ReasonRetention})
	}
	return out
}

// reconcileImages removes the hibernation images whose attempt is not live.
func (m *Manager) reconcileImages(ctx context.Context, live func(string) bool, rep *ReconcileReport) {
	imgs, err := m.hibernatedImages(ctx)
	if err != nil {
		rep.Errors = append(rep.Errors, err)
		return
	}
	for _, im := range imgs {
		if live != nil && live(im.attempt) {
			rep.Hibernated = append(rep.Hibernated, im.attempt)
			continue
		}
		if err := m.removeImage(ctx, im.ref); err != nil {
			rep.Errors = append(rep.Errors, err)
			continue
		}
		rep.RemovedImages = append(rep.RemovedImages, im.ref)
	}
}
