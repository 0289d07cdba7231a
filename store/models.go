package store

import "time"

// The GORM models mirror migrations/*/00001_initial.sql column for column;
// TestModelsMatchSchema proves it on SQLite and PostgreSQL. GORM never
// creates or alters tables here (no AutoMigrate): goose owns the schema.

// Roles a user can hold.
const (
	RoleCandidate = "candidate"
	RoleManager   = "manager"
	RoleAuthor    = "author"
	RoleAdmin     = "admin"
)

// User is a local account.
type User struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	Name         string
	Role         string
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Session is a login session; ID is the SHA-256 of the cookie token.
type Session struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	CSRFToken  string `gorm:"column:csrf_token"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	IP         string `gorm:"column:ip"`
	UserAgent  string
	// InviteID is set on a session opened by an invite link: it reaches
	// that invite's take-home only (migration 00003).
	InviteID *string
}

// Challenge is the catalog entry of a challenge; its versions are snapshots.
type Challenge struct {
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

// ChallengeVersion is an immutable snapshot of a challenge spec (JSON).
type ChallengeVersion struct {
	ChallengeID string `gorm:"primaryKey"`
	Version     string `gorm:"primaryKey"`
	Spec        string
	CreatedAt   time.Time
}

// Assignment is a take-home built by a manager from challenges.
type Assignment struct {
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

// Invite is one candidate's single-use link to an assignment.
type Invite struct {
	ID           string `gorm:"primaryKey"`
	AssignmentID string
	Name         string
	Email        string
	TokenHash    string
	State        string
	ExpiresAt    time.Time
	OpenedAt     *time.Time
	SubmittedAt  *time.Time
	CreatedAt    time.Time
}

// Attempt modes and states.
const (
	ModePractice   = "practice"
	ModeAssignment = "assignment"
	ModeSelfTest   = "selftest"

	AttemptActive    = "active"
	AttemptSubmitted = "submitted"
	AttemptExpired   = "expired"
	AttemptAbandoned = "abandoned"
)

// Attempt is one go at one challenge version, with its sandbox.
type Attempt struct {
	ID               string `gorm:"primaryKey"`
	UserID           *string
	InviteID         *string
	ChallengeID      string
	ChallengeVersion string
	Mode             string
	State            string
	Seed             int64
	SandboxID        string
	Score            int
	MaxScore         int
	StartedAt        time.Time
	DeadlineAt       *time.Time
	EndedAt          *time.Time
}

// HintReveal records that a hint was shown and what it cost.
type HintReveal struct {
	AttemptID  string `gorm:"primaryKey"`
	HintIndex  int    `gorm:"primaryKey;autoIncrement:false"`
	Cost       int
	RevealedAt time.Time
}

// Grading job states and reasons.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"

	ReasonCheck    = "check"
	ReasonSubmit   = "submit"
	ReasonSelfTest = "selftest"
)

// GradingJob is a queued grading of an attempt, leased by one worker at a time.
type GradingJob struct {
	ID         string `gorm:"primaryKey"`
	AttemptID  string
	Reason     string
	State      string
	Tries      int
	LeaseOwner string
	LeaseUntil *time.Time
	Error      string
	CheckRunID string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// CheckRun is one grading pass: its total and its per-check results.
type CheckRun struct {
	ID         string `gorm:"primaryKey"`
	AttemptID  string
	JobID      string
	Score      int
	MaxScore   int
	StartedAt  time.Time
	FinishedAt time.Time
	Results    []CheckResult `gorm:"foreignKey:CheckRunID"`
}

// CheckResult is one check's outcome within a run.
type CheckResult struct {
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

// Submission freezes an attempt's files at submit time.
type Submission struct {
	ID          string `gorm:"primaryKey"`
	AttemptID   string
	Files       string // JSON
	Diff        string
	Automatic   bool
	SubmittedAt time.Time
}

// Recording is a terminal session recording (asciicast v2, compressed).
type Recording struct {
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

// Review is a reviewer's notes and rubric score for an attempt.
type Review struct {
	ID          string `gorm:"primaryKey"`
	AttemptID   string
	ReviewerID  string
	Notes       string
	RubricScore *int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AuditEvent is an append-only record of who did what.
type AuditEvent struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	At         time.Time
	ActorID    string
	Action     string
	ObjectType string
	ObjectID   string
	Detail     string
}

// allModels lists every model with its table, for the schema test.
func allModels() []any {
	return []any{&User{}, &Session{}, &Challenge{}, &ChallengeVersion{}, &Assignment{}, &Invite{},
		&Attempt{}, &HintReveal{}, &GradingJob{}, &CheckRun{}, &CheckResult{}, &Submission{},
		&Recording{}, &Review{}, &AuditEvent{}, &InviteClaim{}, &WebhookDelivery{}}
}
