package attempts

import (
	"fmt"
	"time"
)

// Mode is why an attempt exists.
type Mode string

// Attempt modes (the CHECK of attempts.mode).
const (
	ModePractice   Mode = "practice"   // a candidate practising on their own
	ModeAssignment Mode = "assignment" // one challenge of a take-home invite
	ModeSelfTest   Mode = "selftest"   // an author's self-test run
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool {
	switch m {
	case ModePractice, ModeAssignment, ModeSelfTest:
		return true
	}
	return false
}

// ParseMode turns input into a Mode.
func ParseMode(s string) (Mode, error) {
	if m := Mode(s); m.Valid() {
		return m, nil
	}
	return "", fmt.Errorf("%q is not an attempt mode; use practice, assignment or selftest", s)
}

// State is where an attempt is in its life.
type State string

// Attempt states (the CHECK of attempts.state). Only Active has a sandbox.
const (
	StateActive    State = "active"
	StateSubmitted State = "submitted"
	StateExpired   State = "expired"
	StateAbandoned State = "abandoned"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateActive, StateSubmitted, StateExpired, StateAbandoned:
		return true
	}
	return false
}

// Attempt is one go at one challenge version, with its sandbox.
type Attempt struct {
	ID               string
	UserID           *string
	InviteID         *string
	ChallengeID      string
	ChallengeVersion string
	Mode             Mode
	State            State
	Seed             int64
	SandboxID        string
	Score            int // best score so far
	MaxScore         int
	StartedAt        time.Time
	DeadlineAt       *time.Time
	EndedAt          *time.Time
}

// Update names the columns of an attempt that change after it starts;
// nil fields are left as they are. It is the only way to change an
// attempt after CreateAttempt (no column names outside the store).
type Update struct {
	State      *State
	SandboxID  *string
	Score      *int
	DeadlineAt *time.Time
	EndedAt    *time.Time
}

// HintReveal records that a hint was shown and what it cost.
type HintReveal struct {
	AttemptID  string
	HintIndex  int
	Cost       int
	RevealedAt time.Time
}

// JobState is where a grading job is.
type JobState string

// Grading job states.
const (
	JobQueued  JobState = "queued"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// Reason is why a grading job was queued.
type Reason string

// Grading reasons.
const (
	ReasonCheck    Reason = "check"
	ReasonSubmit   Reason = "submit"
	ReasonSelfTest Reason = "selftest"
)

// GradingJob is a queued grading of an attempt, leased by one worker at a
// time.
type GradingJob struct {
	ID         string
	AttemptID  string
	Reason     Reason
	State      JobState
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
	ID         string
	AttemptID  string
	JobID      string
	Score      int
	MaxScore   int
	StartedAt  time.Time
	FinishedAt time.Time
	Results    []CheckResult
}

// CheckResult is one check's outcome within a run.
type CheckResult struct {
	ID         int64
	CheckRunID string
	CheckID    string
	Title      string
	Passed     bool
	TimedOut   bool
	Points     int
	MaxPoints  int
	Message    string
	Output     string
	DurationMS int64
}

// ChallengeRecord is the catalog entry of a challenge as stored: what the
// catalog page lists and whether an author published it.
type ChallengeRecord struct {
	ID             string
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
	ChallengeID string
	Version     string
	Spec        string
	CreatedAt   time.Time
}
