package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Invite states (the CHECK of invites.state).
const (
	InvitePending   = "pending"
	InviteOpened    = "opened"
	InviteSubmitted = "submitted"
	InviteExpired   = "expired"
	InviteRevoked   = "revoked"
)

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// InviteClaim is an opened invite: the candidate it logged in and the
// clock. SubmitRequestedAt is set once; FinalizedAt when the submission is
// frozen (final grading, files, sandbox removed).
type InviteClaim struct {
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

// WebhookDelivery is one signed POST of one event to one URL.
type WebhookDelivery struct {
	ID            string `gorm:"primaryKey"`
	Event         string
	URL           string `gorm:"column:url"`
	Payload       string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// ---- assignments ----

// CreateAssignment inserts an assignment (ID assigned when empty).
func (s *Store) CreateAssignment(ctx context.Context, a *Assignment) error {
	if a.ID == "" {
		a.ID = NewID()
	}
	return s.wrapWrite("create assignment", s.db.WithContext(ctx).Create(a).Error)
}

// AssignmentByID returns an assignment.
func (s *Store) AssignmentByID(ctx context.Context, id string) (*Assignment, error) {
	var a Assignment
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&a).Error
	return &a, wrap("assignment", err)
}

// ListAssignments lists assignments newest first: ownerID's, or all when
// ownerID is empty.
func (s *Store) ListAssignments(ctx context.Context, ownerID string) ([]Assignment, error) {
	var as []Assignment
	q := s.db.WithContext(ctx).Order("created_at DESC")
	if ownerID != "" {
		q = q.Where("owner_id = ?", ownerID)
	}
	return as, wrap("list assignments", q.Find(&as).Error)
}

// ---- invites ----

// CreateInvite inserts an invite (ID assigned when empty).
func (s *Store) CreateInvite(ctx context.Context, inv *Invite) error {
	if inv.ID == "" {
		inv.ID = NewID()
	}
	return s.wrapWrite("create invite", s.db.WithContext(ctx).Create(inv).Error)
}

// InviteByID returns an invite.
func (s *Store) InviteByID(ctx context.Context, id string) (*Invite, error) {
	var inv Invite
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&inv).Error
	return &inv, wrap("invite", err)
}

// InviteByTokenHash finds an invite by the SHA-256 of its token.
func (s *Store) InviteByTokenHash(ctx context.Context, hash string) (*Invite, error) {
	var inv Invite
	err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&inv).Error
	return &inv, wrap("invite by token", err)
}

// InvitesByAssignment lists an assignment's invites, oldest first.
func (s *Store) InvitesByAssignment(ctx context.Context, assignmentID string) ([]Invite, error) {
	var is []Invite
	err := s.db.WithContext(ctx).Where("assignment_id = ?", assignmentID).Order("created_at, id").Find(&is).Error
	return is, wrap("invites by assignment", err)
}

// RevokeInvite turns a pending invite into a revoked one; it reports
// false when the invite was not pending.
func (s *Store) RevokeInvite(ctx context.Context, id string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&Invite{}).Where("id = ? AND state = ?", id, InvitePending).Update("state", InviteRevoked)
	return res.RowsAffected == 1, wrap("revoke invite", res.Error)
}

// ExpireInvites marks pending invites past their expiry as expired and
// returns how many.
func (s *Store) ExpireInvites(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&Invite{}).Where("state = ? AND expires_at <= ?", InvitePending, now.UTC()).Update("state", InviteExpired)
	return res.RowsAffected, wrap("expire invites", res.Error)
}

// ClaimInvite opens a pending, unexpired invite for claim.UserID in one
// transaction: the invite becomes "opened" and the claim row is stored.
// It returns ErrConflict when the invite was not pending or has expired
// (used, revoked, expired: single use is enforced here).
func (s *Store) ClaimInvite(ctx context.Context, claim *InviteClaim) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Invite{}).Where("id = ? AND state = ? AND expires_at > ?", claim.InviteID, InvitePending, claim.OpenedAt.UTC()).
			Updates(map[string]any{"state": InviteOpened, "opened_at": claim.OpenedAt.UTC()})
		if res.Error != nil {
			return wrap("claim invite", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("claim invite %s: %w", claim.InviteID, ErrConflict)
		}
		return s.wrapWrite("store invite claim", tx.Create(claim).Error)
	})
}

// ClaimByInvite returns the claim of an opened invite.
func (s *Store) ClaimByInvite(ctx context.Context, inviteID string) (*InviteClaim, error) {
	var c InviteClaim
	err := s.db.WithContext(ctx).Where("invite_id = ?", inviteID).Take(&c).Error
	return &c, wrap("invite claim", err)
}

// ClaimsByInvites returns the claims of the given invites, by invite ID.
func (s *Store) ClaimsByInvites(ctx context.Context, inviteIDs []string) (map[string]InviteClaim, error) {
	out := map[string]InviteClaim{}
	if len(inviteIDs) == 0 {
		return out, nil
	}
	var cs []InviteClaim
	if err := s.db.WithContext(ctx).Where("invite_id IN ?", inviteIDs).Find(&cs).Error; err != nil {
		return nil, wrap("invite claims", err)
	}
	for _, c := range cs {
		out[c.InviteID] = c
	}
	return out, nil
}

// ClaimsByUser lists the claims of a candidate, newest first.
func (s *Store) ClaimsByUser(ctx context.Context, userID string) ([]InviteClaim, error) {
	var cs []InviteClaim
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("opened_at DESC").Find(&cs).Error
	return cs, wrap("claims by user", err)
}

// RequestSubmit records the one submission of an invite. A manual
// submission (automatic false) succeeds only up to the claim's deadline;
// the automatic one (the deadline loop) at any time. It reports false
// when the submission was already requested, or, for a manual one, when
// the deadline has passed: the caller reads the claim to tell which.
func (s *Store) RequestSubmit(ctx context.Context, inviteID string, now time.Time, automatic bool) (bool, error) {
	q := s.db.WithContext(ctx).Model(&InviteClaim{}).Where("invite_id = ? AND submit_requested_at IS NULL", inviteID)
	if !automatic {
		q = q.Where("deadline_at >= ?", now.UTC())
	}
	res := q.Updates(map[string]any{"submit_requested_at": now.UTC(), "automatic": automatic})
	return res.RowsAffected == 1, wrap("request submit", res.Error)
}

// OverdueClaims lists claims whose deadline passed without a submission.
func (s *Store) OverdueClaims(ctx context.Context, now time.Time, limit int) ([]InviteClaim, error) {
	var cs []InviteClaim
	err := s.db.WithContext(ctx).Where("submit_requested_at IS NULL AND finalized_at IS NULL AND deadline_at < ?", now.UTC()).
		Order("deadline_at").Limit(limit).Find(&cs).Error
	return cs, wrap("overdue claims", err)
}

// UnfinalizedClaims lists claims whose submission was requested but not
// yet frozen (including ones a dead server left behind).
func (s *Store) UnfinalizedClaims(ctx context.Context, limit int) ([]InviteClaim, error) {
	var cs []InviteClaim
	err := s.db.WithContext(ctx).Where("submit_requested_at IS NOT NULL AND finalized_at IS NULL").
		Order("submit_requested_at").Limit(limit).Find(&cs).Error
	return cs, wrap("unfinalized claims", err)
}

// LeaseClaim takes the right to freeze a claim until until; it reports
// false when another worker holds an unexpired lease.
func (s *Store) LeaseClaim(ctx context.Context, inviteID string, now, until time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&InviteClaim{}).
		Where("invite_id = ? AND finalized_at IS NULL AND (lease_until IS NULL OR lease_until < ?)", inviteID, now.UTC()).
		Update("lease_until", until.UTC())
	return res.RowsAffected == 1, wrap("lease claim", res.Error)
}

// FinalizeClaim marks a claim frozen and its invite submitted, with the
// problems met on the way (empty when none).
func (s *Store) FinalizeClaim(ctx context.Context, inviteID string, now time.Time, problems string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c InviteClaim
		if err := tx.Where("invite_id = ?", inviteID).Take(&c).Error; err != nil {
			return wrap("finalize claim", err)
		}
		submitted := now.UTC()
		if c.SubmitRequestedAt != nil {
			submitted = c.SubmitRequestedAt.UTC()
		}
		if err := tx.Model(&InviteClaim{}).Where("invite_id = ?", inviteID).
			Updates(map[string]any{"finalized_at": now.UTC(), "error": problems, "lease_until": nil}).Error; err != nil {
			return wrap("finalize claim", err)
		}
		return wrap("mark invite submitted", tx.Model(&Invite{}).Where("id = ?", inviteID).
			Updates(map[string]any{"state": InviteSubmitted, "submitted_at": submitted}).Error)
	})
}

// ---- attempts of invites, submissions, runs, reviews ----

// AttemptsByInvite lists the attempts an invite started, oldest first.
func (s *Store) AttemptsByInvite(ctx context.Context, inviteID string) ([]Attempt, error) {
	var as []Attempt
	err := s.db.WithContext(ctx).Where("invite_id = ?", inviteID).Order("started_at, challenge_id").Find(&as).Error
	return as, wrap("attempts by invite", err)
}

// CreateSubmission stores an attempt's frozen files; a second submission
// of the same attempt is ignored (it reports false).
func (s *Store) CreateSubmission(ctx context.Context, sub *Submission) (bool, error) {
	if sub.ID == "" {
		sub.ID = NewID()
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "attempt_id"}}, DoNothing: true}).Create(sub)
	return res.RowsAffected == 1, wrap("create submission", res.Error)
}

// SubmissionByAttempt returns an attempt's submission.
func (s *Store) SubmissionByAttempt(ctx context.Context, attemptID string) (*Submission, error) {
	var sub Submission
	err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Take(&sub).Error
	return &sub, wrap("submission", err)
}

// CheckRunsByAttempt lists an attempt's check runs with their results,
// oldest first.
func (s *Store) CheckRunsByAttempt(ctx context.Context, attemptID string) ([]CheckRun, error) {
	var rs []CheckRun
	err := s.db.WithContext(ctx).Preload("Results", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Where("attempt_id = ?", attemptID).Order("finished_at").Find(&rs).Error
	return rs, wrap("check runs by attempt", err)
}

// UpsertReview stores a reviewer's notes and rubric score for an attempt:
// one review per reviewer and attempt, updated in place.
func (s *Store) UpsertReview(ctx context.Context, r *Review) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	return s.wrapWrite("save review", s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "attempt_id"}, {Name: "reviewer_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"notes", "rubric_score", "updated_at"}),
	}).Create(r).Error)
}

// ReviewsByAttempt lists an attempt's reviews, oldest first.
func (s *Store) ReviewsByAttempt(ctx context.Context, attemptID string) ([]Review, error) {
	var rs []Review
	err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("created_at").Find(&rs).Error
	return rs, wrap("reviews", err)
}

// AuditByObject lists the audit events of one object, oldest first.
func (s *Store) AuditByObject(ctx context.Context, objectType, objectID string) ([]AuditEvent, error) {
	var es []AuditEvent
	err := s.db.WithContext(ctx).Where("object_type = ? AND object_id = ?", objectType, objectID).Order("at, id").Find(&es).Error
	return es, wrap("audit by object", err)
}

// ---- webhook deliveries ----

// EnqueueDelivery stores a pending webhook delivery.
func (s *Store) EnqueueDelivery(ctx context.Context, d *WebhookDelivery) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	if d.State == "" {
		d.State = DeliveryPending
	}
	return s.wrapWrite("enqueue webhook", s.db.WithContext(ctx).Create(d).Error)
}

// LeaseDeliveries takes up to limit pending deliveries that are due and
// not leased by another worker, leasing each until now+lease.
func (s *Store) LeaseDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error) {
	now = now.UTC()
	var due []WebhookDelivery
	err := s.db.WithContext(ctx).Where("state = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)", DeliveryPending, now, now).
		Order("next_attempt_at").Limit(limit).Find(&due).Error
	if err != nil {
		return nil, wrap("due webhooks", err)
	}
	until := now.Add(lease)
	out := due[:0]
	for _, d := range due {
		res := s.db.WithContext(ctx).Model(&WebhookDelivery{}).
			Where("id = ? AND state = ? AND (lease_until IS NULL OR lease_until < ?)", d.ID, DeliveryPending, now).
			Update("lease_until", until)
		if res.Error != nil {
			return out, wrap("lease webhook", res.Error)
		}
		if res.RowsAffected == 1 {
			d.LeaseUntil = &until
			out = append(out, d)
		}
	}
	return out, nil
}

// UpdateDelivery saves the outcome of a delivery attempt.
func (s *Store) UpdateDelivery(ctx context.Context, id string, cols map[string]any) error {
	res := s.db.WithContext(ctx).Model(&WebhookDelivery{}).Where("id = ?", id).Updates(cols)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("update webhook delivery %s: %w", id, ErrNotFound)
	}
	return wrap("update webhook delivery", res.Error)
}

// ListDeliveries lists webhook deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	var ds []WebhookDelivery
	err := s.db.WithContext(ctx).Order("created_at DESC, id").Limit(limit).Find(&ds).Error
	return ds, wrap("list webhook deliveries", err)
}
