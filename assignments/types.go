package assignments

import "time"

// Assignment is a take-home built by a manager from challenges.
type Assignment struct {
	ID            string
	OwnerID       string
	Title         string
	ChallengeIDs  []string // in the order the candidate sees them
	TimeLimitS    int
	DeadlineAt    time.Time
	InterviewMode bool
	HintsAllowed  bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// InviteState is where an invite is in its life.
type InviteState string

// Invite states (the CHECK of invites.state).
const (
	InvitePending   InviteState = "pending"
	InviteOpened    InviteState = "opened"
	InviteSubmitted InviteState = "submitted"
	InviteExpired   InviteState = "expired"
	InviteRevoked   InviteState = "revoked"
)

// Valid reports whether s is a known invite state.
func (s InviteState) Valid() bool {
	switch s {
	case InvitePending, InviteOpened, InviteSubmitted, InviteExpired, InviteRevoked:
		return true
	}
	return false
}

// Invite is one candidate's single-use link to an assignment.
type Invite struct {
	ID           string
	AssignmentID string
	Name         string
	Email        string
	TokenHash    string
	State        InviteState
	ExpiresAt    time.Time
	OpenedAt     *time.Time
	SubmittedAt  *time.Time
	CreatedAt    time.Time
}

// InviteClaim is an opened invite: the candidate it logged in and the
// clock. SubmitRequestedAt is set once; FinalizedAt when the submission is
// frozen (final grading, files, sandbox removed).
type InviteClaim struct {
	InviteID          string
	UserID            string
	OpenedAt          time.Time
	DeadlineAt        time.Time
	SubmitRequestedAt *time.Time
	Automatic         bool
	FinalizedAt       *time.Time
	LeaseUntil        *time.Time
	Error             string
}

// Submission freezes an attempt's files at submit time.
type Submission struct {
	ID          string
	AttemptID   string
	Files       string // JSON
	Diff        string
	Automatic   bool
	SubmittedAt time.Time
}

// Review is a reviewer's notes and rubric score for an attempt.
type Review struct {
	ID          string
	AttemptID   string
	ReviewerID  string
	Notes       string
	RubricScore *int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DeliveryState is where a webhook delivery is.
type DeliveryState string

// Webhook delivery states.
const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryFailed    DeliveryState = "failed"
)

// WebhookDelivery is one signed POST of one event to one URL.
type WebhookDelivery struct {
	ID            string
	Event         string
	URL           string
	Payload       string
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// DeliveryOutcome is what one delivery try changes: the try count, the
// receiver's status, the error (empty on success) and the lease is
// released. State, NextAttemptAt and DeliveredAt change when set.
type DeliveryOutcome struct {
	Attempts      int
	LastStatus    int
	LastError     string
	State         DeliveryState // empty: unchanged
	NextAttemptAt *time.Time    // nil: unchanged
	DeliveredAt   *time.Time    // nil: unchanged
}
