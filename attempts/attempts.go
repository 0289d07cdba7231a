// Package attempts is the application service around one go at a
// challenge: start (a seeded sandbox), check (a persisted grading job run by
// a worker pool), hints, reset, submit. It ties the domain packages
// together (challenges, sandbox, grader) and persists through the store;
// HTTP handlers call it and nothing else.
package attempts

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/audit"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/sandbox"
)

// Store is the persistence the service needs.
type Store interface {
	CreateAttempt(ctx context.Context, a *Attempt) error
	AttemptByID(ctx context.Context, id string) (*Attempt, error)
	AttemptsByUser(ctx context.Context, userID string, limit int) ([]Attempt, error)
	ActiveAttempts(ctx context.Context) ([]Attempt, error)
	UpdateAttempt(ctx context.Context, id string, up Update) error
	RevealHint(ctx context.Context, h *HintReveal) error
	HintReveals(ctx context.Context, attemptID string) ([]HintReveal, error)
	EnqueueJob(ctx context.Context, attemptID string, reason Reason) (*GradingJob, error)
	LeaseJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*GradingJob, error)
	RenewLease(ctx context.Context, jobID, owner string, until time.Time) error
	FinishJob(ctx context.Context, jobID, owner string, run *CheckRun) error
	FailJob(ctx context.Context, jobID, owner, reason string, now time.Time) error
	JobByID(ctx context.Context, id string) (*GradingJob, error)
	CheckRunByID(ctx context.Context, id string) (*CheckRun, error)
	LatestCheckRun(ctx context.Context, attemptID string) (*CheckRun, error)
	UpsertChallengeVersion(ctx context.Context, c *ChallengeRecord, v *ChallengeVersion) error
	Audit(ctx context.Context, e *audit.Event) error
}

// Sandboxes is what the service needs from the sandbox manager.
type Sandboxes interface {
	Create(ctx context.Context, s sandbox.Spec) (*sandbox.Sandbox, error)
	Remove(ctx context.Context, id string) error
	Reconcile(ctx context.Context, live func(attemptID string) (sandbox.Adoption, bool)) (sandbox.ReconcileReport, error)
	Touch(id string)
	// Restore returns the attempt's running sandbox, restoring it from its
	// hibernation image when it was hibernated; sandbox.ErrNotFound when
	// it is gone.
	Restore(ctx context.Context, id string, s sandbox.Spec) (*sandbox.Sandbox, error)
	// Discard removes the attempt's hibernation image, if any.
	Discard(ctx context.Context, attemptID string) error
	// Hold keeps the reaper off a sandbox while it is graded.
	Hold(id string) (release func())
	Get(id string) (sandbox.Sandbox, error)
}

// Catalog finds challenges.
type Catalog interface {
	Get(id string) (*challenges.Challenge, bool)
}

// Grader grades a target.
type Grader interface {
	Grade(ctx context.Context, ch *challenges.Challenge, t grader.Target) (grader.Result, error)
}

// Errors the HTTP layer maps to answers.
var (
	ErrNotFound       = apperr.New(apperr.NotFound, "not found")
	ErrForbidden      = apperr.New(apperr.Forbidden, "not yours")
	ErrNotActive      = apperr.New(apperr.Conflict, "this attempt is over (submitted or expired); start a new one")
	ErrUnknownHint    = apperr.New(apperr.Invalid, "no such hint")
	ErrNoSandbox      = apperr.New(apperr.Gone, "this attempt has no sandbox")
	ErrUnknownVersion = apperr.New(apperr.Conflict, "the challenge changed since this attempt started and its old version is not loaded")
	ErrNoReset        = apperr.New(apperr.Conflict, "take-home attempts cannot be reset")
	// ErrSandboxGone: the attempt's sandbox is neither running nor
	// hibernated (its time ran out, it was removed). Nothing is graded or
	// stored; the best score stands.
	ErrSandboxGone = apperr.New(apperr.Gone, "the sandbox of this attempt is gone (its time ran out or it was removed); nothing was graded and your score is unchanged: reset the attempt or start a new one")
	// ErrGradingFailed: the checks could not run (an infrastructure
	// error); nothing is stored, the best score stands.
	ErrGradingFailed = apperr.New(apperr.Unavailable, "the grader could not run the checks; nothing was stored and your score is unchanged: try again in a moment")
)

// SubmitGrace is how long a take-home sandbox outlives its deadline, for
// the automatic submit to grade and freeze it.
const SubmitGrace = 5 * time.Minute

// Config tunes the service.
type Config struct {
	Workers      int           // grading jobs at once
	Lease        time.Duration // a worker's hold on a job; renewed while grading
	PollInterval time.Duration // how often idle workers look for jobs
	MaxTries     int           // a job failing this many times is marked failed
	InstanceID   string        // lease owner prefix
	// AutoPublish says whether a challenge seen for the first time is
	// published at once (shipped challenges) or waits for an author.
	AutoPublish func(ch *challenges.Challenge) bool
	// Observer is told how long each grading took (metrics); nil: none.
	Observer GradingObserver
}

// Service runs attempts.
type Service struct {
	st      Store
	sb      Sandboxes
	cat     Catalog
	g       Grader
	log     *slog.Logger
	now     func() time.Time
	cfg     Config
	wake    chan struct{}
	mu      sync.Mutex
	byVer   map[string]*challenges.Challenge // challenge versions seen, by version hash
	waiters map[string][]chan struct{}       // job id -> waiters for its end
	// policies tells take-home attempts' rules (policy.go); nil: none.
	policies PolicySource
}

// New returns a Service.
func New(st Store, sb Sandboxes, cat Catalog, g Grader, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 3
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = "opsdojo-" + ids.New()[:8]
	}
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, sb: sb, cat: cat, g: g, log: log.With("component", "attempts"), now: now, cfg: cfg,
		wake: make(chan struct{}, 1), byVer: map[string]*challenges.Challenge{}, waiters: map[string][]chan struct{}{}}
}

// Remember records a loaded challenge version so attempts started on it
// are graded with it even after the catalog moves on; it also snapshots the
// version in the store. The catalog's OnChange calls it.
func (s *Service) Remember(ctx context.Context, ch *challenges.Challenge) error {
	s.mu.Lock()
	s.byVer[ch.Version] = ch
	s.mu.Unlock()
	spec, err := json.Marshal(ch.Spec)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", ch.ID, err)
	}
	now := s.now().UTC()
	// Published only matters when the row is created: the upsert keeps an
	// existing challenge's flag.
	published := s.cfg.AutoPublish == nil || s.cfg.AutoPublish(ch)
	return s.st.UpsertChallengeVersion(ctx,
		&ChallengeRecord{ID: ch.ID, Title: ch.Title, Kind: string(ch.Kind), Difficulty: string(ch.Difficulty), CurrentVersion: ch.Version, SourceDir: ch.Dir, Published: published, CreatedAt: now, UpdatedAt: now},
		&ChallengeVersion{ChallengeID: ch.ID, Version: ch.Version, Spec: string(spec), CreatedAt: now})
}

// challengeFor returns the exact version an attempt started on.
func (s *Service) challengeFor(a *Attempt) (*challenges.Challenge, error) {
	s.mu.Lock()
	ch, ok := s.byVer[a.ChallengeVersion]
	s.mu.Unlock()
	if ok {
		return ch, nil
	}
	cur, ok := s.cat.Get(a.ChallengeID)
	if !ok {
		return nil, fmt.Errorf("challenge %s: %w", a.ChallengeID, ErrNotFound)
	}
	if cur.Version != a.ChallengeVersion {
		return nil, fmt.Errorf("attempt %s (version %.12s, now %.12s): %w", a.ID, a.ChallengeVersion, cur.Version, ErrUnknownVersion)
	}
	return cur, nil
}

// Challenge returns the challenge version of an attempt.
func (s *Service) Challenge(a *Attempt) (*challenges.Challenge, error) {
	return s.challengeFor(a)
}

func newSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) & (1<<62 - 1))
}

// StartOptions describe a new attempt.
type StartOptions struct {
	UserID   string
	InviteID string
	Mode     Mode // ModePractice or ModeAssignment
	Deadline *time.Time
}

// Start creates an attempt and its sandbox (setup applied).
func (s *Service) Start(ctx context.Context, challengeID string, o StartOptions) (*Attempt, error) {
	ch, ok := s.cat.Get(challengeID)
	if !ok {
		return nil, fmt.Errorf("challenge %q: %w", challengeID, ErrNotFound)
	}
	// The catalog's OnChange records each version as it loads; only a
	// version this process has not seen yet is snapshotted here.
	s.mu.Lock()
	_, known := s.byVer[ch.Version]
	s.mu.Unlock()
	if !known {
		if err := s.Remember(ctx, ch); err != nil {
			return nil, err
		}
	}
	if o.Mode == "" {
		o.Mode = ModePractice
	}
	now := s.now().UTC()
	a := &Attempt{ID: ids.New(), ChallengeID: ch.ID, ChallengeVersion: ch.Version, Mode: o.Mode, State: StateActive,
		Seed: newSeed(), MaxScore: ch.TotalPoints(), StartedAt: now, DeadlineAt: o.Deadline}
	if o.UserID != "" {
		a.UserID = &o.UserID
	}
	if o.InviteID != "" {
		a.InviteID = &o.InviteID
	}
	if err := s.st.CreateAttempt(ctx, a); err != nil {
		return nil, err
	}
	if err := s.startSandbox(ctx, a, ch, o.UserID); err != nil {
		_ = s.st.UpdateAttempt(context.WithoutCancel(ctx), a.ID, Update{State: new(StateAbandoned), EndedAt: new(s.now().UTC())})
		return nil, err
	}
	s.audit(ctx, o.UserID, "attempt.start", a.ID, fmt.Sprintf(`{"challenge":%q,"version":%q,"seed":%d}`, ch.ID, ch.Version, a.Seed))
	return a, nil
}

// specFor is the sandbox an attempt runs in, with its lifetime policy:
// a take-home sandbox lives until the deadline plus SubmitGrace and is
// never idle-reaped; a practice sandbox is hibernated (its work kept) when
// idle or past its TTL, and restored when the candidate comes back.
func (s *Service) specFor(a *Attempt, ch *challenges.Challenge) sandbox.Spec {
	spec := grader.SandboxSpec(ch, a.Seed)
	spec.AttemptID = a.ID
	if a.UserID != nil {
		spec.OwnerID = *a.UserID
	}
	if spec.OwnerID == "" {
		spec.OwnerID = "anonymous"
	}
	if a.Mode == ModeAssignment || a.DeadlineAt != nil {
		spec.IdleTimeout = -1
		if a.DeadlineAt != nil {
			if ttl := a.DeadlineAt.Sub(s.now()) + SubmitGrace; ttl > 0 {
				spec.TTL = ttl
			}
		}
		return spec
	}
	spec.Hibernate = true
	spec.OnResume = resumeScript(ch)
	return spec
}

// resumeScript is the challenge's script run as root when a hibernated
// sandbox is restored (processes do not survive hibernation). A challenge
// declares it when its package grows a ResumeScript method
// (sandbox.on_resume); until then none runs and a restored sandbox is like
// a rebooted machine: files kept, services stopped.
func resumeScript(ch *challenges.Challenge) []byte {
	if r, ok := any(ch).(interface{ ResumeScript() []byte }); ok {
		return r.ResumeScript()
	}
	return nil
}

func (s *Service) startSandbox(ctx context.Context, a *Attempt, ch *challenges.Challenge, owner string) error {
	spec := s.specFor(a, ch)
	if owner != "" {
		spec.OwnerID = owner
	}
	sb, err := s.sb.Create(ctx, spec)
	if err != nil {
		return fmt.Errorf("start sandbox for %s: %w", ch.ID, err)
	}
	a.SandboxID = sb.ID
	if err := s.st.UpdateAttempt(ctx, a.ID, Update{SandboxID: new(sb.ID)}); err != nil {
		_ = s.sb.Remove(context.WithoutCancel(ctx), sb.ID)
		return err
	}
	return nil
}

// Get returns an attempt if userID may see it (its owner; callers check
// staff roles themselves and pass userID "" to skip the check).
func (s *Service) Get(ctx context.Context, attemptID, userID string) (*Attempt, error) {
	a, err := s.st.AttemptByID(ctx, attemptID)
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if userID != "" && (a.UserID == nil || *a.UserID != userID) {
		// Not distinguishable from a missing attempt: no probing of ids.
		return nil, fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	return a, nil
}

// History lists a user's attempts.
func (s *Service) History(ctx context.Context, userID string) ([]Attempt, error) {
	return s.st.AttemptsByUser(ctx, userID, 50)
}

func (s *Service) active(a *Attempt) error {
	if a.State != StateActive {
		return ErrNotActive
	}
	if a.DeadlineAt != nil && s.now().After(*a.DeadlineAt) {
		return ErrNotActive
	}
	return nil
}

// Resume makes sure an active attempt's sandbox is running: a hibernated
// one is restored (its new id is stored in a.SandboxID and the database).
// A sandbox that is gone is ErrSandboxGone. The workspace, terminal
// tickets, Check and the editor call it before using the sandbox.
func (s *Service) Resume(ctx context.Context, a *Attempt) error {
	if err := s.active(a); err != nil {
		return err
	}
	return s.resume(ctx, a)
}

// resume is Resume without the deadline check (final grading runs after it).
func (s *Service) resume(ctx context.Context, a *Attempt) error {
	if a.SandboxID == "" {
		return ErrNoSandbox
	}
	ch, err := s.challengeFor(a)
	if err != nil {
		return err
	}
	sb, err := s.sb.Restore(ctx, a.SandboxID, s.specFor(a, ch))
	switch {
	case errors.Is(err, sandbox.ErrNotFound), errors.Is(err, sandbox.ErrExpired):
		return fmt.Errorf("attempt %s: %w", a.ID, apperr.Hide(ErrSandboxGone, err))
	case err != nil:
		return fmt.Errorf("resume the sandbox of attempt %s: %w", a.ID, err)
	}
	if sb.ID != a.SandboxID {
		if err := s.st.UpdateAttempt(ctx, a.ID, Update{SandboxID: new(sb.ID)}); err != nil {
			return err
		}
		old := a.SandboxID
		a.SandboxID = sb.ID
		uid := ""
		if a.UserID != nil {
			uid = *a.UserID
		}
		s.audit(ctx, uid, "attempt.restore", a.ID, fmt.Sprintf(`{"from":%q,"to":%q}`, old, sb.ID))
	}
	return nil
}

// AwaitingFreeze says whether a take-home attempt still waits for its
// submission to be frozen (graded, files copied): the sandbox reaper keeps
// its sandbox past the TTL meanwhile (sandbox.Manager.SetKeep).
func (s *Service) AwaitingFreeze(ctx context.Context, attemptID string) bool {
	a, err := s.st.AttemptByID(ctx, attemptID)
	if err != nil {
		return apperr.ErrorCode(err) != apperr.NotFound // unsure (database error): keep
	}
	return a.State == StateActive && (a.Mode == ModeAssignment || a.InviteID != nil)
}

// Check queues a grading of the attempt's current state and returns the job.
// A sandbox that is gone answers ErrSandboxGone and nothing is queued.
func (s *Service) Check(ctx context.Context, a *Attempt) (*GradingJob, error) {
	if err := s.Resume(ctx, a); err != nil {
		return nil, err
	}
	s.sb.Touch(a.SandboxID)
	j, err := s.st.EnqueueJob(ctx, a.ID, ReasonCheck)
	if err != nil {
		return nil, err
	}
	s.kick()
	return j, nil
}

// HintView is a hint as the candidate sees it.
type HintView struct {
	Index    int
	Cost     int
	Text     string // empty until revealed
	Revealed bool
}

// Hints lists the attempt's hints, revealed ones with their text.
func (s *Service) Hints(ctx context.Context, a *Attempt) ([]HintView, error) {
	if ok, err := s.hintsAllowed(ctx, a); err != nil || !ok {
		return nil, err // the assignment turned hints off: none to list
	}
	ch, err := s.challengeFor(a)
	if err != nil {
		return nil, err
	}
	rev, err := s.st.HintReveals(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, r := range rev {
		seen[r.HintIndex] = true
	}
	out := make([]HintView, len(ch.Hints))
	for i, h := range ch.Hints {
		out[i] = HintView{Index: i, Cost: h.Cost, Revealed: seen[i]}
		if seen[i] {
			out[i].Text = h.Text
		}
	}
	return out, nil
}

// RevealHint reveals hint i (recording its cost once) and returns it.
func (s *Service) RevealHint(ctx context.Context, a *Attempt, i int) (HintView, error) {
	if ok, err := s.hintsAllowed(ctx, a); err != nil {
		return HintView{}, err
	} else if !ok {
		return HintView{}, ErrHintsDisabled
	}
	if err := s.active(a); err != nil {
		return HintView{}, err
	}
	ch, err := s.challengeFor(a)
	if err != nil {
		return HintView{}, err
	}
	if i < 0 || i >= len(ch.Hints) {
		return HintView{}, fmt.Errorf("hint %d of %d: %w", i+1, len(ch.Hints), ErrUnknownHint)
	}
	h := ch.Hints[i]
	if err := s.st.RevealHint(ctx, &HintReveal{AttemptID: a.ID, HintIndex: i, Cost: h.Cost, RevealedAt: s.now().UTC()}); err != nil {
		return HintView{}, err
	}
	uid := ""
	if a.UserID != nil {
		uid = *a.UserID
	}
	s.audit(ctx, uid, "attempt.hint", a.ID, fmt.Sprintf(`{"hint":%d,"cost":%d}`, i, h.Cost))
	return HintView{Index: i, Cost: h.Cost, Text: h.Text, Revealed: true}, nil
}

// HintCost is the points taken off for revealed hints.
func (s *Service) HintCost(ctx context.Context, a *Attempt) (int, error) {
	rev, err := s.st.HintReveals(ctx, a.ID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rev {
		n += r.Cost
	}
	return n, nil
}

// Reset replaces the attempt's sandbox with a fresh one (same seed).
func (s *Service) Reset(ctx context.Context, a *Attempt) error {
	if err := s.active(a); err != nil {
		return err
	}
	if a.Mode == ModeAssignment {
		return ErrNoReset
	}
	ch, err := s.challengeFor(a)
	if err != nil {
		return err
	}
	if a.SandboxID != "" {
		if err := s.sb.Remove(ctx, a.SandboxID); err != nil && !errors.Is(err, sandbox.ErrNotFound) {
			return fmt.Errorf("remove old sandbox: %w", err)
		}
	}
	if err := s.sb.Discard(ctx, a.ID); err != nil {
		return fmt.Errorf("remove hibernated state: %w", err)
	}
	owner := ""
	if a.UserID != nil {
		owner = *a.UserID
	}
	if err := s.startSandbox(ctx, a, ch, owner); err != nil {
		return err
	}
	s.audit(ctx, owner, "attempt.reset", a.ID, "{}")
	return nil
}

// End closes an attempt (submitted, expired or abandoned) and removes its
// sandbox.
func (s *Service) End(ctx context.Context, a *Attempt, state State) error {
	if err := s.st.UpdateAttempt(ctx, a.ID, Update{State: new(state), EndedAt: new(s.now().UTC())}); err != nil {
		return err
	}
	if a.SandboxID != "" {
		if err := s.sb.Remove(ctx, a.SandboxID); err != nil && !errors.Is(err, sandbox.ErrNotFound) {
			s.log.Warn("remove sandbox of ended attempt", "attempt", a.ID, "err", err)
		}
	}
	if err := s.sb.Discard(ctx, a.ID); err != nil {
		s.log.Warn("remove hibernation image of ended attempt", "attempt", a.ID, "err", err)
	}
	return nil
}

// Reconcile removes sandboxes of attempts that are no longer active and
// adopts the rest; run at start-up, before serving.
func (s *Service) Reconcile(ctx context.Context) (sandbox.ReconcileReport, error) {
	live, err := s.st.ActiveAttempts(ctx)
	if err != nil {
		return sandbox.ReconcileReport{}, err
	}
	byID := map[string]*Attempt{}
	for i := range live {
		byID[live[i].ID] = &live[i]
	}
	return s.sb.Reconcile(ctx, func(attemptID string) (sandbox.Adoption, bool) {
		a, ok := byID[attemptID]
		if !ok {
			return sandbox.Adoption{}, false
		}
		// The environment the sandbox was created with (a pool container
		// only got it through its execs, which a restart forgets).
		ch, err := s.challengeFor(a)
		if err != nil {
			s.log.Warn("adopting a sandbox without its challenge's environment", "attempt", a.ID, "err", err)
			return sandbox.Adoption{}, true
		}
		spec := s.specFor(a, ch)
		return sandbox.Adoption{Env: spec.Env, Hibernate: spec.Hibernate, IdleTimeout: spec.IdleTimeout}, true
	})
}

func (s *Service) audit(ctx context.Context, actor, action, attemptID, detail string) {
	if err := s.st.Audit(context.WithoutCancel(ctx), &audit.Event{ActorID: actor, Action: action, ObjectType: "attempt", ObjectID: attemptID, Detail: detail}); err != nil {
		s.log.Warn("audit", "action", action, "err", err)
	}
}
