package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/audit"
)

// ---- assignments ----

// CreateAssignment inserts an assignment (ID assigned when empty).
func (s *Store) CreateAssignment(ctx context.Context, a *assignments.Assignment) error {
	if a.ID == "" {
		a.ID = NewID()
	}
	row := assignmentRowOf(a)
	return s.wrapWrite("create assignment", s.db.WithContext(ctx).Create(&row).Error)
}

// AssignmentByID returns an assignment.
func (s *Store) AssignmentByID(ctx context.Context, id string) (*assignments.Assignment, error) {
	var r assignmentRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("assignment", err)
	}
	a, err := assignmentOf(r)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAssignments lists assignments newest first: ownerID's, or all when
// ownerID is empty.
func (s *Store) ListAssignments(ctx context.Context, ownerID string) ([]assignments.Assignment, error) {
	var rs []assignmentRow
	q := s.db.WithContext(ctx).Order("created_at DESC")
	if ownerID != "" {
		q = q.Where("owner_id = ?", ownerID)
	}
	if err := q.Find(&rs).Error; err != nil {
		return nil, wrap("list assignments", err)
	}
	out := make([]assignments.Assignment, 0, len(rs))
	for _, r := range rs {
		a, err := assignmentOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// ---- invites ----

func inviteOf(r inviteRow) assignments.Invite { return assignments.Invite(r) }

// CreateInvite inserts an invite (ID assigned when empty).
func (s *Store) CreateInvite(ctx context.Context, inv *assignments.Invite) error {
	if inv.ID == "" {
		inv.ID = NewID()
	}
	row := inviteRow(*inv)
	return s.wrapWrite("create invite", s.db.WithContext(ctx).Create(&row).Error)
}

// InviteByID returns an invite.
func (s *Store) InviteByID(ctx context.Context, id string) (*assignments.Invite, error) {
	var r inviteRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("invite", err)
	}
	inv := inviteOf(r)
	return &inv, nil
}

// InviteByTokenHash finds an invite by the SHA-256 of its token.
func (s *Store) InviteByTokenHash(ctx context.Context, hash string) (*assignments.Invite, error) {
	var r inviteRow
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&r).Error; err != nil {
		return nil, wrap("invite by token", err)
	}
	inv := inviteOf(r)
	return &inv, nil
}

// InvitesByAssignment lists an assignment's invites, oldest first.
func (s *Store) InvitesByAssignment(ctx context.Context, assignmentID string) ([]assignments.Invite, error) {
	var rs []inviteRow
	if err := s.db.WithContext(ctx).Where("assignment_id = ?", assignmentID).Order("created_at, id").Find(&rs).Error; err != nil {
		return nil, wrap("invites by assignment", err)
	}
	return mapAll(rs, inviteOf), nil
}

// RevokeInvite turns a pending invite into a revoked one; it reports
// false when the invite was not pending.
func (s *Store) RevokeInvite(ctx context.Context, id string) (bool, error) {
	res := s.db.WithContext(ctx).Model(&inviteRow{}).Where("id = ? AND state = ?", id, assignments.InvitePending).Update("state", assignments.InviteRevoked)
	return res.RowsAffected == 1, wrap("revoke invite", res.Error)
}

// ExpireInvites marks pending invites past their expiry as expired and
// returns how many.
func (s *Store) ExpireInvites(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&inviteRow{}).Where("state = ? AND expires_at <= ?", assignments.InvitePending, now.UTC()).Update("state", assignments.InviteExpired)
	return res.RowsAffected, wrap("expire invites", res.Error)
}

// ClaimInvite opens a pending, unexpired invite for claim.UserID in one
// transaction: the invite becomes "opened" and the claim row is stored.
// It returns ErrConflict when the invite was not pending or has expired
// (used, revoked, expired: single use is enforced here).
func (s *Store) ClaimInvite(ctx context.Context, claim *assignments.InviteClaim) error {
	row := inviteClaimRow(*claim)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&inviteRow{}).Where("id = ? AND state = ? AND expires_at > ?", row.InviteID, assignments.InvitePending, row.OpenedAt.UTC()).
			Updates(map[string]any{"state": assignments.InviteOpened, "opened_at": row.OpenedAt.UTC()})
		if res.Error != nil {
			return wrap("claim invite", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("claim invite %s: %w", row.InviteID, ErrConflict)
		}
		return s.wrapWrite("store invite claim", tx.Create(&row).Error)
	})
}

func claimOf(r inviteClaimRow) assignments.InviteClaim { return assignments.InviteClaim(r) }

// ClaimByInvite returns the claim of an opened invite.
func (s *Store) ClaimByInvite(ctx context.Context, inviteID string) (*assignments.InviteClaim, error) {
	var r inviteClaimRow
	if err := s.db.WithContext(ctx).Where("invite_id = ?", inviteID).Take(&r).Error; err != nil {
		return nil, wrap("invite claim", err)
	}
	c := claimOf(r)
	return &c, nil
}

// ClaimsByInvites returns the claims of the given invites, by invite ID.
func (s *Store) ClaimsByInvites(ctx context.Context, inviteIDs []string) (map[string]assignments.InviteClaim, error) {
	out := map[string]assignments.InviteClaim{}
	if len(inviteIDs) == 0 {
		return out, nil
	}
	var rs []inviteClaimRow
	if err := s.db.WithContext(ctx).Where("invite_id IN ?", inviteIDs).Find(&rs).Error; err != nil {
		return nil, wrap("invite claims", err)
	}
	for _, r := range rs {
		out[r.InviteID] = claimOf(r)
	}
	return out, nil
}

// ClaimsByUser lists the claims of a candidate, newest first.
func (s *Store) ClaimsByUser(ctx context.Context, userID string) ([]assignments.InviteClaim, error) {
	var rs []inviteClaimRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("opened_at DESC").Find(&rs).Error; err != nil {
		return nil, wrap("claims by user", err)
	}
	return mapAll(rs, claimOf), nil
}

// RequestSubmit records the one submission of an invite. A manual
// submission (automatic false) succeeds only up to the claim's deadline;
// the automatic one (the deadline loop) at any time. It reports false
// when the submission was already requested, or, for a manual one, when
// the deadline has passed: the caller reads the claim to tell which.
func (s *Store) RequestSubmit(ctx context.Context, inviteID string, now time.Time, automatic bool) (bool, error) {
	q := s.db.WithContext(ctx).Model(&inviteClaimRow{}).Where("invite_id = ? AND submit_requested_at IS NULL", inviteID)
	if !automatic {
		q = q.Where("deadline_at >= ?", now.UTC())
	}
	res := q.Updates(map[string]any{"submit_requested_at": now.UTC(), "automatic": automatic})
	return res.RowsAffected == 1, wrap("request submit", res.Error)
}

// OverdueClaims lists claims whose deadline passed without a submission.
func (s *Store) OverdueClaims(ctx context.Context, now time.Time, limit int) ([]assignments.InviteClaim, error) {
	var rs []inviteClaimRow
	if err := s.db.WithContext(ctx).Where("submit_requested_at IS NULL AND finalized_at IS NULL AND deadline_at < ?", now.UTC()).
		Order("deadline_at").Limit(limit).Find(&rs).Error; err != nil {
		return nil, wrap("overdue claims", err)
	}
	return mapAll(rs, claimOf), nil
}

// UnfinalizedClaims lists claims whose submission was requested but not
// yet frozen (including ones a dead server left behind).
func (s *Store) UnfinalizedClaims(ctx context.Context, limit int) ([]assignments.InviteClaim, error) {
	var rs []inviteClaimRow
	if err := s.db.WithContext(ctx).Where("submit_requested_at IS NOT NULL AND finalized_at IS NULL").
		Order("submit_requested_at").Limit(limit).Find(&rs).Error; err != nil {
		return nil, wrap("unfinalized claims", err)
	}
	return mapAll(rs, claimOf), nil
}

// LeaseClaim takes the right to freeze a claim until until; it reports
// false when another worker holds an unexpired lease.
func (s *Store) LeaseClaim(ctx context.Context, inviteID string, now, until time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&inviteClaimRow{}).
		Where("invite_id = ? AND finalized_at IS NULL AND (lease_until IS NULL OR lease_until < ?)", inviteID, now.UTC()).
		Update("lease_until", until.UTC())
	return res.RowsAffected == 1, wrap("lease claim", res.Error)
}

// FinalizeClaim marks a claim frozen and its invite submitted, with the
// problems met on the way (empty when none).
func (s *Store) FinalizeClaim(ctx context.Context, inviteID string, now time.Time, problems string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c inviteClaimRow
		if err := tx.Where("invite_id = ?", inviteID).Take(&c).Error; err != nil {
			return wrap("finalize claim", err)
		}
		submitted := now.UTC()
		if c.SubmitRequestedAt != nil {
			submitted = c.SubmitRequestedAt.UTC()
		}
		if err := tx.Model(&inviteClaimRow{}).Where("invite_id = ?", inviteID).
			Updates(map[string]any{"finalized_at": now.UTC(), "error": problems, "lease_until": nil}).Error; err != nil {
			return wrap("finalize claim", err)
		}
		return wrap("mark invite submitted", tx.Model(&inviteRow{}).Where("id = ?", inviteID).
			Updates(map[string]any{"state": assignments.InviteSubmitted, "submitted_at": submitted}).Error)
	})
}

// ---- attempts of invites, submissions, runs, reviews ----

// AttemptsByInvite lists the attempts an invite started, oldest first.
func (s *Store) AttemptsByInvite(ctx context.Context, inviteID string) ([]attempts.Attempt, error) {
	var rs []attemptRow
	if err := s.db.WithContext(ctx).Where("invite_id = ?", inviteID).Order("started_at, challenge_id").Find(&rs).Error; err != nil {
		return nil, wrap("attempts by invite", err)
	}
	return mapAll(rs, attemptOf), nil
}

// CreateSubmission stores an attempt's frozen files; a second submission
// of the same attempt is ignored (it reports false).
func (s *Store) CreateSubmission(ctx context.Context, sub *assignments.Submission) (bool, error) {
	if sub.ID == "" {
		sub.ID = NewID()
	}
	row := submissionRow(*sub)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "attempt_id"}}, DoNothing: true}).Create(&row)
	return res.RowsAffected == 1, wrap("create submission", res.Error)
}

// SubmissionByAttempt returns an attempt's submission.
func (s *Store) SubmissionByAttempt(ctx context.Context, attemptID string) (*assignments.Submission, error) {
	var r submissionRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Take(&r).Error; err != nil {
		return nil, wrap("submission", err)
	}
	sub := assignments.Submission(r)
	return &sub, nil
}

// CheckRunsByAttempt lists an attempt's check runs with their results,
// oldest first.
func (s *Store) CheckRunsByAttempt(ctx context.Context, attemptID string) ([]attempts.CheckRun, error) {
	var rs []checkRunRow
	if err := s.db.WithContext(ctx).Preload("Results", resultsInOrder).
		Where("attempt_id = ?", attemptID).Order("finished_at").Find(&rs).Error; err != nil {
		return nil, wrap("check runs by attempt", err)
	}
	return mapAll(rs, checkRunOf), nil
}

// UpsertReview stores a reviewer's notes and rubric score for an attempt:
// one review per reviewer and attempt, updated in place.
func (s *Store) UpsertReview(ctx context.Context, r *assignments.Review) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	row := reviewRow(*r)
	return s.wrapWrite("save review", s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "attempt_id"}, {Name: "reviewer_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"notes", "rubric_score", "updated_at"}),
	}).Create(&row).Error)
}

// ReviewsByAttempt lists an attempt's reviews, oldest first.
func (s *Store) ReviewsByAttempt(ctx context.Context, attemptID string) ([]assignments.Review, error) {
	var rs []reviewRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("created_at").Find(&rs).Error; err != nil {
		return nil, wrap("reviews", err)
	}
	return mapAll(rs, func(r reviewRow) assignments.Review { return assignments.Review(r) }), nil
}

// AuditByObject lists the audit events of one object, oldest first.
func (s *Store) AuditByObject(ctx context.Context, objectType, objectID string) ([]audit.Event, error) {
	var rs []auditEventRow
	if err := s.db.WithContext(ctx).Where("object_type = ? AND object_id = ?", objectType, objectID).Order("at, id").Find(&rs).Error; err != nil {
		return nil, wrap("audit by object", err)
	}
	return mapAll(rs, func(r auditEventRow) audit.Event { return audit.Event(r) }), nil
}

// ---- webhook deliveries ----

func deliveryOf(r webhookDeliveryRow) assignments.WebhookDelivery {
	return assignments.WebhookDelivery(r)
}

// EnqueueDelivery stores a pending webhook delivery.
func (s *Store) EnqueueDelivery(ctx context.Context, d *assignments.WebhookDelivery) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	if d.State == "" {
		d.State = assignments.DeliveryPending
	}
	row := webhookDeliveryRow(*d)
	return s.wrapWrite("enqueue webhook", s.db.WithContext(ctx).Create(&row).Error)
}

// LeaseDeliveries takes up to limit pending deliveries that are due and
// not leased by another worker, leasing each until now+lease.
func (s *Store) LeaseDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]assignments.WebhookDelivery, error) {
	now = now.UTC()
	var due []webhookDeliveryRow
	err := s.db.WithContext(ctx).Where("state = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)", assignments.DeliveryPending, now, now).
		Order("next_attempt_at").Limit(limit).Find(&due).Error
	if err != nil {
		return nil, wrap("due webhooks", err)
	}
	until := now.Add(lease)
	out := make([]assignments.WebhookDelivery, 0, len(due))
	for _, d := range due {
		res := s.db.WithContext(ctx).Model(&webhookDeliveryRow{}).
			Where("id = ? AND state = ? AND (lease_until IS NULL OR lease_until < ?)", d.ID, assignments.DeliveryPending, now).
			Update("lease_until", until)
		if res.Error != nil {
			return out, wrap("lease webhook", res.Error)
		}
		if res.RowsAffected == 1 {
			d.LeaseUntil = &until
			out = append(out, deliveryOf(d))
		}
	}
	return out, nil
}

// RecordDelivery saves the outcome of one delivery try and releases its
// lease.
func (s *Store) RecordDelivery(ctx context.Context, id string, o assignments.DeliveryOutcome) error {
	cols := map[string]any{"attempts": o.Attempts, "last_status": o.LastStatus, "last_error": o.LastError, "lease_until": nil}
	if o.State != "" {
		cols["state"] = o.State
	}
	if o.NextAttemptAt != nil {
		cols["next_attempt_at"] = o.NextAttemptAt.UTC()
	}
	if o.DeliveredAt != nil {
		cols["delivered_at"] = o.DeliveredAt.UTC()
	}
	res := s.db.WithContext(ctx).Model(&webhookDeliveryRow{}).Where("id = ?", id).Updates(cols)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("update webhook delivery %s: %w", id, ErrNotFound)
	}
	return wrap("update webhook delivery", res.Error)
}

// ListDeliveries lists webhook deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, limit int) ([]assignments.WebhookDelivery, error) {
	var rs []webhookDeliveryRow
	if err := s.db.WithContext(ctx).Order("created_at DESC, id").Limit(limit).Find(&rs).Error; err != nil {
		return nil, wrap("list webhook deliveries", err)
	}
	return mapAll(rs, deliveryOf), nil
}
