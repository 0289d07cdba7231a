package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/audit"
	"github.com/opsdojo/opsdojo/recording"
)

// The GORM models are private to the store: the rest of opsdojo speaks
// the domain types (accounts.User, attempts.Attempt, assignments.Invite…)
// and the store maps between them here (like coder's db2sdk). They
// mirror migrations/*/00001_initial.sql column for column;
// TestModelsMatchSchema proves it on SQLite and PostgreSQL. GORM never
// creates or alters tables here (no AutoMigrate): goose owns the schema.
//
// Most rows have the same fields, in the same order, as their domain
// type, so the mapping is a Go conversion (tags do not count): a field
// added to one and not the other stops the build at the conversion, not
// at run time. Where the column encodes something (an assignment's JSON
// list of challenges, a check run's results) the mapping is written out.

type userRow struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	Name         string
	Role         accounts.Role
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRow) TableName() string { return "users" }

type sessionRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	CSRFToken  string `gorm:"column:csrf_token"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	IP         string `gorm:"column:ip"`
	UserAgent  string
	InviteID   *string // migration 00003
}

func (sessionRow) TableName() string { return "sessions" }

type challengeRow struct {
	ID             string `gorm:"primaryKey"`
	Title          string
	Kind           string
	Difficulty     string
	CurrentVersion string
	Published      bool
	SourceDir      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (challengeRow) TableName() string { return "challenges" }

type challengeVersionRow struct {
	ChallengeID string `gorm:"primaryKey"`
	Version     string `gorm:"primaryKey"`
	Spec        string
	CreatedAt   time.Time
}

func (challengeVersionRow) TableName() string { return "challenge_versions" }

type assignmentRow struct {
	ID            string `gorm:"primaryKey"`
	OwnerID       string
	Title         string
	ChallengeIDs  string `gorm:"column:challenge_ids"` // JSON array
	TimeLimitS    int    `gorm:"column:time_limit_s"`
	DeadlineAt    time.Time
	InterviewMode bool
	HintsAllowed  bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (assignmentRow) TableName() string { return "assignments" }

type inviteRow struct {
	ID           string `gorm:"primaryKey"`
	AssignmentID string
	Name         string
	Email        string
	TokenHash    string
	State        assignments.InviteState
	ExpiresAt    time.Time
	OpenedAt     *time.Time
	SubmittedAt  *time.Time
	CreatedAt    time.Time
}

func (inviteRow) TableName() string { return "invites" }

type attemptRow struct {
	ID               string `gorm:"primaryKey"`
	UserID           *string
	InviteID         *string
	ChallengeID      string
	ChallengeVersion string
	Mode             attempts.Mode
	State            attempts.State
	Seed             int64
	SandboxID        string
	Score            int
	MaxScore         int
	StartedAt        time.Time
	DeadlineAt       *time.Time
	EndedAt          *time.Time
}

func (attemptRow) TableName() string { return "attempts" }

type hintRevealRow struct {
	AttemptID  string `gorm:"primaryKey"`
	HintIndex  int    `gorm:"primaryKey;autoIncrement:false"`
	Cost       int
	RevealedAt time.Time
}

func (hintRevealRow) TableName() string { return "hint_reveals" }

type gradingJobRow struct {
	ID         string `gorm:"primaryKey"`
	AttemptID  string
	Reason     attempts.Reason
	State      attempts.JobState
	Tries      int
	LeaseOwner string
	LeaseUntil *time.Time
	Error      string
	CheckRunID string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

func (gradingJobRow) TableName() string { return "grading_jobs" }

type checkRunRow struct {
	ID         string `gorm:"primaryKey"`
	AttemptID  string
	JobID      string
	Score      int
	MaxScore   int
	StartedAt  time.Time
	FinishedAt time.Time
	Results    []checkResultRow `gorm:"foreignKey:CheckRunID"`
}

func (checkRunRow) TableName() string { return "check_runs" }

type checkResultRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	CheckRunID string
	CheckID    string
	Title      string
	Passed     bool
	TimedOut   bool
	Points     int
	MaxPoints  int
	Message    string
	Output     string
	DurationMS int64 `gorm:"column:duration_ms"`
}

func (checkResultRow) TableName() string { return "check_results" }

type submissionRow struct {
	ID          string `gorm:"primaryKey"`
	AttemptID   string
	Files       string // JSON
	Diff        string
	Automatic   bool
	SubmittedAt time.Time
}

func (submissionRow) TableName() string { return "submissions" }

type recordingRow struct {
	ID        string `gorm:"primaryKey"`
	AttemptID string
	Terminal  string
	Path      string
	Bytes     int64
	Events    int64
	Error     string
	StartedAt time.Time
	EndedAt   *time.Time
}

func (recordingRow) TableName() string { return "recordings" }

type reviewRow struct {
	ID          string `gorm:"primaryKey"`
	AttemptID   string
	ReviewerID  string
	Notes       string
	RubricScore *int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (reviewRow) TableName() string { return "reviews" }

type auditEventRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	At         time.Time
	ActorID    string
	Action     string
	ObjectType string
	ObjectID   string
	Detail     string
}

func (auditEventRow) TableName() string { return "audit_events" }

type inviteClaimRow struct {
	InviteID          string `gorm:"primaryKey"`
	UserID            string
	OpenedAt          time.Time
	DeadlineAt        time.Time
	SubmitRequestedAt *time.Time
	Automatic         bool
	FinalizedAt       *time.Time
	LeaseUntil        *time.Time
	Error             string
}

func (inviteClaimRow) TableName() string { return "invite_claims" }

type webhookDeliveryRow struct {
	ID            string `gorm:"primaryKey"`
	Event         string
	URL           string `gorm:"column:url"`
	Payload       string
	State         assignments.DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

func (webhookDeliveryRow) TableName() string { return "webhook_deliveries" }

// allModels lists every model with its table, for the schema test.
func allModels() []any {
	return []any{&userRow{}, &sessionRow{}, &challengeRow{}, &challengeVersionRow{}, &assignmentRow{}, &inviteRow{},
		&attemptRow{}, &hintRevealRow{}, &gradingJobRow{}, &checkRunRow{}, &checkResultRow{}, &submissionRow{},
		&recordingRow{}, &reviewRow{}, &auditEventRow{}, &inviteClaimRow{}, &webhookDeliveryRow{}}
}

// ---- mapping between rows and domain types ----

// mapAll converts a slice of rows with f.
func mapAll[R, D any](rows []R, f func(R) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

func checkRunOf(r checkRunRow) attempts.CheckRun {
	out := attempts.CheckRun{ID: r.ID, AttemptID: r.AttemptID, JobID: r.JobID, Score: r.Score, MaxScore: r.MaxScore,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if r.Results != nil {
		out.Results = mapAll(r.Results, func(c checkResultRow) attempts.CheckResult { return attempts.CheckResult(c) })
	}
	return out
}

func checkRunRowOf(r *attempts.CheckRun) checkRunRow {
	out := checkRunRow{ID: r.ID, AttemptID: r.AttemptID, JobID: r.JobID, Score: r.Score, MaxScore: r.MaxScore,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	if r.Results != nil {
		out.Results = mapAll(r.Results, func(c attempts.CheckResult) checkResultRow { return checkResultRow(c) })
	}
	return out
}

// An assignment's challenge list is a JSON array in one column.

func assignmentRowOf(a *assignments.Assignment) assignmentRow {
	ids := a.ChallengeIDs
	if ids == nil {
		ids = []string{}
	}
	raw, _ := json.Marshal(ids) // a []string always encodes
	return assignmentRow{ID: a.ID, OwnerID: a.OwnerID, Title: a.Title, ChallengeIDs: string(raw), TimeLimitS: a.TimeLimitS,
		DeadlineAt: a.DeadlineAt, InterviewMode: a.InterviewMode, HintsAllowed: a.HintsAllowed, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func assignmentOf(r assignmentRow) (assignments.Assignment, error) {
	a := assignments.Assignment{ID: r.ID, OwnerID: r.OwnerID, Title: r.Title, TimeLimitS: r.TimeLimitS,
		DeadlineAt: r.DeadlineAt, InterviewMode: r.InterviewMode, HintsAllowed: r.HintsAllowed, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.ChallengeIDs), &a.ChallengeIDs); err != nil {
		return a, fmt.Errorf("assignment %s: challenge_ids %q is not a JSON list of challenge IDs: %w", r.ID, r.ChallengeIDs, err)
	}
	return a, nil
}

func auditRowOf(e *audit.Event) auditEventRow { return auditEventRow(*e) }

func recordingOf(r recordingRow) recording.Meta { return recording.Meta(r) }
