// Package assignments is the take-home side of opsdojo: hiring managers
// build assignments from challenges and invite candidates with single-use
// links; opening a link logs the candidate in (no password), starts the
// clock and the sandboxes; the candidate submits once, or the deadline
// loop submits for them; submitting freezes a final grading, the changed
// files and a diff against the starter files, then removes the sandboxes.
// Reviewers read a report (scores, diff, timeline, replay links), leave
// notes and a rubric score, and export CSV. Events go out as signed
// webhooks with persisted retries.
//
// All state is in the database: the background loop (Run) picks up where
// a stopped server left off.
package assignments

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/audit"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/sandbox"
)

// Store is the persistence the service needs (implemented by *store.Store).
type Store interface {
	CreateUser(ctx context.Context, u *accounts.User) error
	UserByEmail(ctx context.Context, email string) (*accounts.User, error)
	UserByID(ctx context.Context, id string) (*accounts.User, error)
	CreateSession(ctx context.Context, s *accounts.SessionRecord) error

	CreateAssignment(ctx context.Context, a *Assignment) error
	AssignmentByID(ctx context.Context, id string) (*Assignment, error)
	ListAssignments(ctx context.Context, ownerID string) ([]Assignment, error)
	CreateInvite(ctx context.Context, inv *Invite) error
	InviteByID(ctx context.Context, id string) (*Invite, error)
	InviteByTokenHash(ctx context.Context, hash string) (*Invite, error)
	InvitesByAssignment(ctx context.Context, assignmentID string) ([]Invite, error)
	RevokeInvite(ctx context.Context, id string) (bool, error)
	ExpireInvites(ctx context.Context, now time.Time) (int64, error)
	ClaimInvite(ctx context.Context, claim *InviteClaim) error
	ClaimByInvite(ctx context.Context, inviteID string) (*InviteClaim, error)
	ClaimsByInvites(ctx context.Context, inviteIDs []string) (map[string]InviteClaim, error)
	ClaimsByUser(ctx context.Context, userID string) ([]InviteClaim, error)
	RequestSubmit(ctx context.Context, inviteID string, now time.Time, automatic bool) (bool, error)
	OverdueClaims(ctx context.Context, now time.Time, limit int) ([]InviteClaim, error)
	UnfinalizedClaims(ctx context.Context, limit int) ([]InviteClaim, error)
	LeaseClaim(ctx context.Context, inviteID string, now, until time.Time) (bool, error)
	FinalizeClaim(ctx context.Context, inviteID string, now time.Time, problems string) error

	AttemptByID(ctx context.Context, id string) (*attempts.Attempt, error)
	AttemptsByInvite(ctx context.Context, inviteID string) ([]attempts.Attempt, error)
	CreateSubmission(ctx context.Context, sub *Submission) (bool, error)
	SubmissionByAttempt(ctx context.Context, attemptID string) (*Submission, error)
	CheckRunsByAttempt(ctx context.Context, attemptID string) ([]attempts.CheckRun, error)
	HintReveals(ctx context.Context, attemptID string) ([]attempts.HintReveal, error)
	RecordingsByAttempt(ctx context.Context, attemptID string) ([]recording.Meta, error)
	UpsertReview(ctx context.Context, r *Review) error
	ReviewsByAttempt(ctx context.Context, attemptID string) ([]Review, error)
	Audit(ctx context.Context, e *audit.Event) error

	EnqueueDelivery(ctx context.Context, d *WebhookDelivery) error
	LeaseDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	RecordDelivery(ctx context.Context, id string, o DeliveryOutcome) error
	ListDeliveries(ctx context.Context, limit int) ([]WebhookDelivery, error)
}

// Attempts is what the service needs from the attempts service.
type Attempts interface {
	Start(ctx context.Context, challengeID string, o attempts.StartOptions) (*attempts.Attempt, error)
	Challenge(a *attempts.Attempt) (*challenges.Challenge, error)
	// Close, Freeze and Finish are a submission's three steps on each of
	// its attempts: closed to work at the submit instant, frozen (paused,
	// processes stopped, files kept), then graded a last time and ended.
	Close(ctx context.Context, a *attempts.Attempt, at time.Time) error
	Freeze(ctx context.Context, a *attempts.Attempt, paused func(context.Context), keep func(context.Context) []string) []string
	Finish(ctx context.Context, a *attempts.Attempt, timeout time.Duration, keep func(context.Context) error) ([]string, error)
}

// Sandboxes reads a sandbox's changed files (implemented by
// *sandbox.Manager).
type Sandboxes interface {
	Changes(ctx context.Context, id string) ([]sandbox.Change, error)
	CopyOut(ctx context.Context, id, path string, maxBytes int64) (io.ReadCloser, error)
}

// Catalog finds challenges.
type Catalog interface {
	Get(id string) (*challenges.Challenge, bool)
}

// Casts opens recorded terminal sessions (asciicast v2, decompressed) by
// their stored path (implemented by *recording.Recorder). Optional: with
// none, the report's timeline has no typed commands.
type Casts interface {
	Open(rel string) (io.ReadCloser, error)
}

// Errors callers map to answers. Messages are shown to users as they are.
var (
	ErrNotFound          = apperr.New(apperr.NotFound, "not found")
	ErrInviteUnknown     = apperr.New(apperr.NotFound, "this invite link is not valid: check that you copied all of it, or ask the hiring team for a new one")
	ErrInviteUsed        = apperr.New(apperr.Gone, "this invite link has already been used; invite links work once — ask the hiring team if you need a new one")
	ErrInviteExpired     = apperr.New(apperr.Gone, "this invite link has expired; ask the hiring team for a new one")
	ErrInviteRevoked     = apperr.New(apperr.Gone, "this invite was withdrawn by the hiring team")
	ErrAssignmentClosed  = apperr.New(apperr.Gone, "the deadline of this assignment has passed; it can no longer be started")
	ErrLoginRequired     = apperr.New(apperr.Conflict, "an account with this invite's email already exists: log in to it, then open the invite link again")
	ErrStaffEmail        = apperr.New(apperr.Conflict, "this invite's email belongs to a staff account; invites are for candidate accounts only")
	ErrDeadlinePassed    = apperr.New(apperr.Conflict, "the time for this assignment is up; submissions are closed")
	ErrAlreadySubmitted  = apperr.New(apperr.Conflict, "this assignment has already been submitted; a submission happens once")
	ErrHintsDisabled     = attempts.ErrHintsDisabled
	ErrNotStartable      = apperr.New(apperr.Conflict, "this challenge cannot be started: the assignment is submitted or its time is up")
	ErrWebhookNotAllowed = apperr.New(apperr.Invalid, "webhook URL must be http or https")
)

// ValidationError names the field of a form that is wrong.
type ValidationError struct{ Field, Msg string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// ErrorCode makes a validation error unprocessable (HTTP 422).
func (e *ValidationError) ErrorCode() apperr.Code { return apperr.Unprocessable }

// Limits of what a submission keeps.
const (
	// MaxFileBytes is the largest changed file whose content is kept.
	MaxFileBytes = 256 << 10
	// MaxTotalBytes caps the kept contents of one attempt's files.
	MaxTotalBytes = 2 << 20
	// MaxFiles caps how many changed paths are looked at per attempt.
	MaxFiles = 300
	// MaxInvitesPerRequest bounds one invite form.
	MaxInvitesPerRequest = 100
	// MaxTimeLimit bounds an assignment's time limit.
	MaxTimeLimit = 7 * 24 * time.Hour
	// MaxDeadlineYears bounds how far in the future a deadline may be.
	MaxDeadlineYears = 1
	// MaxEmailLength is the longest address SMTP carries (RFC 5321: a
	// 256-octet path minus its angle brackets); MaxEmailLocalLength bounds
	// the part before the @ (RFC 5321 4.5.3.1.1).
	MaxEmailLength      = 254
	MaxEmailLocalLength = 64
)

// Config tunes the service.
type Config struct {
	// PublicURL is where browsers reach the server (links in webhooks).
	PublicURL string
	// InviteTTL is how long an invite link stays valid by default.
	InviteTTL time.Duration
	// Interval is how often the deadline loop looks for overdue work.
	Interval time.Duration
	// GradeTimeout bounds the final grading of one submission.
	GradeTimeout time.Duration
	// ClaimLease is a worker's hold on a submission it is freezing.
	ClaimLease time.Duration
	// Webhook is where events go; empty URL disables webhooks.
	Webhook WebhookConfig
}

// Service is the assignments domain.
type Service struct {
	st    Store
	att   Attempts
	sb    Sandboxes
	cat   Catalog
	casts Casts
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	wake  chan struct{}
	hooks *webhooks
	mu    sync.Mutex  // serialises finalize within this process
	frz   freezeState // the submit-instant freeze (submit.go)
}

// New returns a Service. casts may be nil.
func New(st Store, att Attempts, sb Sandboxes, cat Catalog, casts Casts, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = 7 * 24 * time.Hour
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.GradeTimeout <= 0 {
		cfg.GradeTimeout = 3 * time.Minute
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = cfg.GradeTimeout + 2*time.Minute
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	log = log.With("component", "assignments")
	s := &Service{st: st, att: att, sb: sb, cat: cat, casts: casts, cfg: cfg, log: log, now: now, wake: make(chan struct{}, 1)}
	s.hooks = newWebhooks(st, cfg.Webhook, log, now)
	return s
}

// Actor is who asks: managers see their own assignments, admins all.
type Actor struct {
	ID   string
	Role accounts.Role
}

func (a Actor) canSee(as *Assignment) bool {
	return a.Role == accounts.RoleAdmin || (a.Role == accounts.RoleManager && as.OwnerID == a.ID)
}

// NewAssignment is the manager's form.
type NewAssignment struct {
	Title         string
	ChallengeIDs  []string
	TimeLimit     time.Duration
	Deadline      time.Time
	InterviewMode bool
	HintsAllowed  bool
}

// CreateAssignment validates and stores an assignment owned by actor.
func (s *Service) CreateAssignment(ctx context.Context, actor Actor, in NewAssignment) (*Assignment, error) {
	title := strings.TrimSpace(in.Title)
	switch {
	case title == "":
		return nil, &ValidationError{"title", "give the assignment a title"}
	case len(title) > 200:
		return nil, &ValidationError{"title", "must be at most 200 characters"}
	case len(in.ChallengeIDs) == 0:
		return nil, &ValidationError{"challenges", "choose at least one challenge"}
	case len(in.ChallengeIDs) > 10:
		return nil, &ValidationError{"challenges", "choose at most 10 challenges"}
	case in.TimeLimit < time.Minute:
		return nil, &ValidationError{"time_limit", "must be at least one minute"}
	case in.TimeLimit > MaxTimeLimit:
		return nil, &ValidationError{"time_limit", "must be at most 7 days"}
	case in.Deadline.IsZero():
		return nil, &ValidationError{"deadline", "set a deadline"}
	case !in.Deadline.After(s.now()):
		return nil, &ValidationError{"deadline", "must be in the future"}
	case in.Deadline.After(s.now().AddDate(MaxDeadlineYears, 0, 0)):
		return nil, &ValidationError{"deadline", fmt.Sprintf("must be at most %d year from now (before %s)", MaxDeadlineYears, s.now().AddDate(MaxDeadlineYears, 0, 0).UTC().Format("2006-01-02 15:04 UTC"))}
	}
	var ids []string
	for _, id := range in.ChallengeIDs {
		id = strings.TrimSpace(id)
		if _, ok := s.cat.Get(id); !ok {
			return nil, &ValidationError{"challenges", fmt.Sprintf("no challenge named %q", id)}
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	now := s.now().UTC()
	a := &Assignment{OwnerID: actor.ID, Title: title, ChallengeIDs: ids, TimeLimitS: int(in.TimeLimit / time.Second),
		DeadlineAt: in.Deadline.UTC(), InterviewMode: in.InterviewMode, HintsAllowed: in.HintsAllowed, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateAssignment(ctx, a); err != nil {
		return nil, err
	}
	s.audit(ctx, actor.ID, "assignment.create", "assignment", a.ID, map[string]any{"title": title, "challenges": ids})
	return a, nil
}

// assignmentFor loads an assignment actor may see; others' are "not found".
func (s *Service) assignmentFor(ctx context.Context, actor Actor, id string) (*Assignment, error) {
	a, err := s.st.AssignmentByID(ctx, id)
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, fmt.Errorf("assignment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if !actor.canSee(a) {
		return nil, fmt.Errorf("assignment %s: %w", id, ErrNotFound)
	}
	return a, nil
}

// NewInvite is one candidate to invite.
type NewInvite struct {
	Name, Email string
	// TTL overrides Config.InviteTTL when positive.
	TTL time.Duration
}

// InviteLink is a created invite with its token, which exists only here:
// the database keeps its SHA-256.
type InviteLink struct {
	Invite *Invite
	Token  string
	Path   string // "/invite/TOKEN"
}

// Invite creates a single-use invite link for one candidate.
func (s *Service) Invite(ctx context.Context, actor Actor, assignmentID string, in NewInvite) (*InviteLink, error) {
	a, err := s.assignmentFor(ctx, actor, assignmentID)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	email, err := inviteEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = strings.SplitN(email, "@", 2)[0]
	}
	if len(name) > 200 {
		return nil, &ValidationError{"name", "must be at most 200 characters"}
	}
	if u, err := s.st.UserByEmail(ctx, email); err == nil && u.Role != accounts.RoleCandidate {
		return nil, &ValidationError{"email", "belongs to a staff account; invite a candidate's own address"}
	}
	now := s.now().UTC()
	if !a.DeadlineAt.After(now) {
		return nil, fmt.Errorf("invite to %q: %w", a.Title, ErrAssignmentClosed)
	}
	ttl := s.cfg.InviteTTL
	if in.TTL > 0 {
		ttl = in.TTL
	}
	expires := now.Add(ttl)
	if expires.After(a.DeadlineAt) {
		expires = a.DeadlineAt
	}
	token := newToken()
	inv := &Invite{AssignmentID: a.ID, Name: name, Email: email, TokenHash: hashToken(token), State: InvitePending, ExpiresAt: expires, CreatedAt: now}
	if err := s.st.CreateInvite(ctx, inv); err != nil {
		return nil, err
	}
	s.audit(ctx, actor.ID, "invite.create", "invite", inv.ID, map[string]any{"assignment": a.ID, "email": email})
	return &InviteLink{Invite: inv, Token: token, Path: "/invite/" + token}, nil
}

// inviteEmail normalises and checks an invite's address: one plain
// address (no display name), at most MaxEmailLength characters with a
// local part of at most MaxEmailLocalLength.
func inviteEmail(raw string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(raw))
	if len(email) > MaxEmailLength {
		return "", &ValidationError{"email", fmt.Sprintf("is %d characters long; an email address has at most %d", len(email), MaxEmailLength)}
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return "", &ValidationError{"email", fmt.Sprintf("%q is not an email address", raw)}
	}
	if local := email[:strings.LastIndexByte(email, '@')]; len(local) > MaxEmailLocalLength {
		return "", &ValidationError{"email", fmt.Sprintf("the part before the @ is %d characters long; at most %d are allowed", len(local), MaxEmailLocalLength)}
	}
	return email, nil
}

// RevokeInvite withdraws a pending invite.
func (s *Service) RevokeInvite(ctx context.Context, actor Actor, assignmentID, inviteID string) error {
	if _, err := s.assignmentFor(ctx, actor, assignmentID); err != nil {
		return err
	}
	inv, err := s.st.InviteByID(ctx, inviteID)
	if err != nil || inv.AssignmentID != assignmentID {
		return fmt.Errorf("invite %s: %w", inviteID, ErrNotFound)
	}
	ok, err := s.st.RevokeInvite(ctx, inviteID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("invite %s is %s: %w", inviteID, inv.State, ErrInviteUsed)
	}
	s.audit(ctx, actor.ID, "invite.revoke", "invite", inviteID, nil)
	return nil
}

func (s *Service) audit(ctx context.Context, actor, action, objType, objID string, detail map[string]any) {
	d := "{}"
	if detail != nil {
		if b, err := json.Marshal(detail); err == nil {
			d = string(b)
		}
	}
	if err := s.st.Audit(context.WithoutCancel(ctx), &audit.Event{ActorID: actor, Action: action, ObjectType: objType, ObjectID: objID, Detail: d}); err != nil {
		s.log.Warn("audit", "action", action, "err", err)
	}
}

// kick wakes the deadline loop.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
