package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/audit"
)

// ErrConflict is returned (wrapped) when a unique value (an email, say) is
// taken, or a row is not in the state a write needs. It carries
// apperr.Conflict (see ErrNotFound).
var ErrConflict = apperr.New(apperr.Conflict, "already exists")

func (s *Store) wrapWrite(op string, err error) error {
	if err == nil {
		return nil
	}
	// Both dialectors translate unique violations (TranslateError in Open).
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("%s: %w", op, ErrConflict)
	}
	return wrap(op, err)
}

// ---- users ----

// CreateUser inserts u (ID assigned when empty; the email is stored
// lower-case and trimmed, and u says so afterwards).
func (s *Store) CreateUser(ctx context.Context, u *accounts.User) error {
	if u.ID == "" {
		u.ID = NewID()
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	row := userRow(*u)
	return s.wrapWrite("create user", s.db.WithContext(ctx).Create(&row).Error)
}

// UserByEmail finds a user by email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (*accounts.User, error) {
	var r userRow
	if err := s.db.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&r).Error; err != nil {
		return nil, wrap("user by email", err)
	}
	u := accounts.User(r)
	return &u, nil
}

// UserByID finds a user.
func (s *Store) UserByID(ctx context.Context, id string) (*accounts.User, error) {
	var r userRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("user by id", err)
	}
	u := accounts.User(r)
	return &u, nil
}

// CountUsersWithRole counts users of a role.
func (s *Store) CountUsersWithRole(ctx context.Context, role accounts.Role) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&userRow{}).Where("role = ?", role).Count(&n).Error
	return n, wrap("count users", err)
}

// ---- sessions ----

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, sess *accounts.SessionRecord) error {
	row := sessionRow(*sess)
	return s.wrapWrite("create session", s.db.WithContext(ctx).Create(&row).Error)
}

// SessionByID returns a live (not revoked, not expired) session.
func (s *Store) SessionByID(ctx context.Context, id string, now time.Time) (*accounts.SessionRecord, error) {
	var r sessionRow
	if err := s.db.WithContext(ctx).Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, now).Take(&r).Error; err != nil {
		return nil, wrap("session", err)
	}
	sess := accounts.SessionRecord(r)
	return &sess, nil
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	return wrap("touch session", s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", id).Update("last_seen_at", now).Error)
}

// RevokeSession ends a session on the server.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	return wrap("revoke session", s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error)
}

// RevokeUserSessions ends every live session of a user except keep (a
// session ID; empty keeps none) and returns how many it ended.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep string, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL AND id <> ?", userID, keep).Update("revoked_at", now)
	return res.RowsAffected, wrap("revoke user sessions", res.Error)
}

// SetPassword stores a new password hash for a user and, in the same
// transaction, ends every live session of theirs except keep (empty keeps
// none): a password change never leaves an old session alive.
func (s *Store) SetPassword(ctx context.Context, userID, hash, keep string, now time.Time) (revoked int64, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ?", userID).Updates(map[string]any{"password_hash": hash, "updated_at": now})
		if res.Error != nil {
			return wrap("set password", res.Error)
		}
		if res.RowsAffected == 0 {
			return wrap("set password", gorm.ErrRecordNotFound)
		}
		res = tx.Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL AND id <> ?", userID, keep).Update("revoked_at", now)
		revoked = res.RowsAffected
		return wrap("revoke user sessions", res.Error)
	})
	return revoked, err
}

// ---- challenges ----

// UpsertChallengeVersion records a challenge and its version snapshot.
// The published flag of an existing challenge is kept.
func (s *Store) UpsertChallengeVersion(ctx context.Context, c *attempts.ChallengeRecord, v *attempts.ChallengeVersion) error {
	cr, vr := challengeRow(*c), challengeVersionRow(*v)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"title", "kind", "difficulty", "current_version", "source_dir", "updated_at"}),
		}).Create(&cr).Error; err != nil {
			return wrap("upsert challenge", err)
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&vr).Error; err != nil {
			return wrap("insert challenge version", err)
		}
		return nil
	})
}

// ChallengeByID returns a catalog entry.
func (s *Store) ChallengeByID(ctx context.Context, id string) (*attempts.ChallengeRecord, error) {
	var r challengeRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("challenge", err)
	}
	c := attempts.ChallengeRecord(r)
	return &c, nil
}

// ListChallenges returns catalog entries, optionally only published ones.
func (s *Store) ListChallenges(ctx context.Context, publishedOnly bool) ([]attempts.ChallengeRecord, error) {
	var rs []challengeRow
	q := s.db.WithContext(ctx).Order("id")
	if publishedOnly {
		q = q.Where("published = ?", true)
	}
	if err := q.Find(&rs).Error; err != nil {
		return nil, wrap("list challenges", err)
	}
	return mapAll(rs, func(r challengeRow) attempts.ChallengeRecord { return attempts.ChallengeRecord(r) }), nil
}

// SetPublished publishes or unpublishes a challenge.
func (s *Store) SetPublished(ctx context.Context, id string, published bool) error {
	res := s.db.WithContext(ctx).Model(&challengeRow{}).Where("id = ?", id).Updates(map[string]any{"published": published, "updated_at": s.now()})
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("set published %s: %w", id, ErrNotFound)
	}
	return wrap("set published", res.Error)
}

// ---- attempts ----

func attemptOf(r attemptRow) attempts.Attempt { return attempts.Attempt(r) }

// CreateAttempt inserts an attempt (ID assigned when empty).
func (s *Store) CreateAttempt(ctx context.Context, a *attempts.Attempt) error {
	if a.ID == "" {
		a.ID = NewID()
	}
	row := attemptRow(*a)
	return s.wrapWrite("create attempt", s.db.WithContext(ctx).Create(&row).Error)
}

// AttemptByID returns an attempt.
func (s *Store) AttemptByID(ctx context.Context, id string) (*attempts.Attempt, error) {
	var r attemptRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("attempt", err)
	}
	a := attemptOf(r)
	return &a, nil
}

// AttemptsByUser lists a user's attempts, newest first.
func (s *Store) AttemptsByUser(ctx context.Context, userID string, limit int) ([]attempts.Attempt, error) {
	var rs []attemptRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("started_at DESC").Limit(limit).Find(&rs).Error; err != nil {
		return nil, wrap("attempts by user", err)
	}
	return mapAll(rs, attemptOf), nil
}

// ActiveAttempts lists attempts whose sandboxes should be alive.
func (s *Store) ActiveAttempts(ctx context.Context) ([]attempts.Attempt, error) {
	var rs []attemptRow
	if err := s.db.WithContext(ctx).Where("state = ?", attempts.StateActive).Find(&rs).Error; err != nil {
		return nil, wrap("active attempts", err)
	}
	return mapAll(rs, attemptOf), nil
}

// UpdateAttempt saves the fields of up that are set; it returns
// ErrNotFound when there is no such attempt.
func (s *Store) UpdateAttempt(ctx context.Context, id string, up attempts.Update) error {
	cols := map[string]any{}
	if up.State != nil {
		cols["state"] = *up.State
	}
	if up.SandboxID != nil {
		cols["sandbox_id"] = *up.SandboxID
	}
	if up.Score != nil {
		cols["score"] = *up.Score
	}
	if up.DeadlineAt != nil {
		cols["deadline_at"] = up.DeadlineAt.UTC()
	}
	if up.EndedAt != nil {
		cols["ended_at"] = up.EndedAt.UTC()
	}
	if len(cols) == 0 {
		return nil
	}
	res := s.db.WithContext(ctx).Model(&attemptRow{}).Where("id = ?", id).Updates(cols)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("update attempt %s: %w", id, ErrNotFound)
	}
	return wrap("update attempt", res.Error)
}

// RevealHint records a hint reveal once; revealing again is a no-op.
func (s *Store) RevealHint(ctx context.Context, h *attempts.HintReveal) error {
	row := hintRevealRow(*h)
	return wrap("reveal hint", s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error)
}

// HintReveals lists an attempt's revealed hints.
func (s *Store) HintReveals(ctx context.Context, attemptID string) ([]attempts.HintReveal, error) {
	var rs []hintRevealRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("hint_index").Find(&rs).Error; err != nil {
		return nil, wrap("hint reveals", err)
	}
	return mapAll(rs, func(r hintRevealRow) attempts.HintReveal { return attempts.HintReveal(r) }), nil
}

// ---- grading jobs ----

// GradingJobCounts counts grading jobs by state (queued: the queue depth
// every replica shares); metrics reads it at each scrape.
func (s *Store) GradingJobCounts(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		State string
		N     int64
	}
	if err := s.db.WithContext(ctx).Raw("SELECT state, COUNT(*) AS n FROM grading_jobs GROUP BY state").Scan(&rows).Error; err != nil {
		return nil, wrap("count grading jobs", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// EnqueueJob stores a queued grading job.
func (s *Store) EnqueueJob(ctx context.Context, attemptID string, reason attempts.Reason) (*attempts.GradingJob, error) {
	r := gradingJobRow{ID: NewID(), AttemptID: attemptID, Reason: reason, State: attempts.JobQueued, CreatedAt: s.now()}
	if err := s.wrapWrite("enqueue grading job", s.db.WithContext(ctx).Create(&r).Error); err != nil {
		return nil, err
	}
	j := attempts.GradingJob(r)
	return &j, nil
}

// LeaseJob atomically takes the oldest job that is queued, or running with
// an expired lease (its worker died), and leases it to owner until
// now+lease. It returns ErrNotFound when there is nothing to do.
func (s *Store) LeaseJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*attempts.GradingJob, error) {
	var job gradingJobRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("state = ? OR (state = ? AND lease_until < ?)", attempts.JobQueued, attempts.JobRunning, now).Order("created_at").Limit(1)
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Take(&job).Error; err != nil {
			return err
		}
		until := now.Add(lease)
		res := tx.Model(&gradingJobRow{}).Where("id = ? AND tries = ?", job.ID, job.Tries).Updates(map[string]any{
			"state": attempts.JobRunning, "lease_owner": owner, "lease_until": until, "tries": job.Tries + 1, "started_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound // another worker took it
		}
		job.State, job.LeaseOwner, job.LeaseUntil, job.Tries, job.StartedAt = attempts.JobRunning, owner, &until, job.Tries+1, &now
		return nil
	})
	if err != nil {
		return nil, wrap("lease grading job", err)
	}
	j := attempts.GradingJob(job)
	return &j, nil
}

// RenewLease extends a running job's lease if owner still holds it.
func (s *Store) RenewLease(ctx context.Context, jobID, owner string, until time.Time) error {
	res := s.db.WithContext(ctx).Model(&gradingJobRow{}).Where("id = ? AND lease_owner = ? AND state = ?", jobID, owner, attempts.JobRunning).Update("lease_until", until)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("renew lease of job %s: %w", jobID, ErrNotFound)
	}
	return wrap("renew lease", res.Error)
}

// FinishJob stores a check run with its results, marks the job done and
// updates the attempt's score, all in one transaction. run gets its ID,
// its job ID and its results' IDs.
func (s *Store) FinishJob(ctx context.Context, jobID, owner string, run *attempts.CheckRun) error {
	if run.ID == "" {
		run.ID = NewID()
	}
	run.JobID = jobID
	row := checkRunRowOf(run)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return wrap("store check run", err)
		}
		res := tx.Model(&gradingJobRow{}).Where("id = ? AND lease_owner = ?", jobID, owner).Updates(map[string]any{
			"state": attempts.JobDone, "check_run_id": row.ID, "finished_at": row.FinishedAt, "error": "",
		})
		if res.Error != nil {
			return wrap("finish job", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("finish job %s: lease lost: %w", jobID, ErrNotFound)
		}
		return wrap("update attempt score", tx.Model(&attemptRow{}).Where("id = ?", row.AttemptID).
			Updates(map[string]any{"score": row.Score, "max_score": row.MaxScore}).Error)
	})
	if err == nil {
		*run = checkRunOf(row)
	}
	return err
}

// FailJob marks a job failed with a reason.
func (s *Store) FailJob(ctx context.Context, jobID, owner, reason string, now time.Time) error {
	return wrap("fail job", s.db.WithContext(ctx).Model(&gradingJobRow{}).Where("id = ? AND lease_owner = ?", jobID, owner).
		Updates(map[string]any{"state": attempts.JobFailed, "error": reason, "finished_at": now}).Error)
}

// JobByID returns a job.
func (s *Store) JobByID(ctx context.Context, id string) (*attempts.GradingJob, error) {
	var r gradingJobRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("grading job", err)
	}
	j := attempts.GradingJob(r)
	return &j, nil
}

func resultsInOrder(db *gorm.DB) *gorm.DB { return db.Order("id") }

// CheckRunByID returns a run with its results in check order.
func (s *Store) CheckRunByID(ctx context.Context, id string) (*attempts.CheckRun, error) {
	var r checkRunRow
	if err := s.db.WithContext(ctx).Preload("Results", resultsInOrder).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("check run", err)
	}
	run := checkRunOf(r)
	return &run, nil
}

// LatestCheckRun returns an attempt's newest run.
func (s *Store) LatestCheckRun(ctx context.Context, attemptID string) (*attempts.CheckRun, error) {
	var r checkRunRow
	if err := s.db.WithContext(ctx).Preload("Results", resultsInOrder).
		Where("attempt_id = ?", attemptID).Order("finished_at DESC").Take(&r).Error; err != nil {
		return nil, wrap("latest check run", err)
	}
	run := checkRunOf(r)
	return &run, nil
}

// ---- audit ----

// Audit appends an audit event; failures are returned, never hidden.
func (s *Store) Audit(ctx context.Context, e *audit.Event) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	row := auditRowOf(e)
	err := s.db.WithContext(ctx).Create(&row).Error
	e.ID = row.ID
	return wrap("audit", err)
}
