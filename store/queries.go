package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrConflict is returned when a unique value (an email, say) is taken.
var ErrConflict = errors.New("already exists")

func (s *Store) wrapWrite(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) || strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("%s: %w", op, ErrConflict)
	}
	return wrap(op, err)
}

// ---- users ----

// CreateUser inserts u (ID assigned when empty).
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.ID == "" {
		u.ID = NewID()
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	return s.wrapWrite("create user", s.db.WithContext(ctx).Create(u).Error)
}

// UserByEmail finds a user by email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&u).Error
	return &u, wrap("user by email", err)
}

// UserByID finds a user.
func (s *Store) UserByID(ctx context.Context, id string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	return &u, wrap("user by id", err)
}

// CountUsersWithRole counts users of a role.
func (s *Store) CountUsersWithRole(ctx context.Context, role string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&User{}).Where("role = ?", role).Count(&n).Error
	return n, wrap("count users", err)
}

// ---- sessions ----

// CreateSession inserts a session.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	return s.wrapWrite("create session", s.db.WithContext(ctx).Create(sess).Error)
}

// SessionByID returns a live (not revoked, not expired) session.
func (s *Store) SessionByID(ctx context.Context, id string, now time.Time) (*Session, error) {
	var sess Session
	err := s.db.WithContext(ctx).Where("id = ? AND revoked_at IS NULL AND expires_at > ?", id, now).Take(&sess).Error
	return &sess, wrap("session", err)
}

// TouchSession records activity.
func (s *Store) TouchSession(ctx context.Context, id string, now time.Time) error {
	return wrap("touch session", s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Update("last_seen_at", now).Error)
}

// RevokeSession ends a session on the server.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	return wrap("revoke session", s.db.WithContext(ctx).Model(&Session{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error)
}

// RevokeUserSessions ends every live session of a user except keep (a
// session ID; empty keeps none) and returns how many it ended.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, keep string, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&Session{}).Where("user_id = ? AND revoked_at IS NULL AND id <> ?", userID, keep).Update("revoked_at", now)
	return res.RowsAffected, wrap("revoke user sessions", res.Error)
}

// SetPassword stores a new password hash for a user and, in the same
// transaction, ends every live session of theirs except keep (empty keeps
// none): a password change never leaves an old session alive.
func (s *Store) SetPassword(ctx context.Context, userID, hash, keep string, now time.Time) (revoked int64, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"password_hash": hash, "updated_at": now})
		if res.Error != nil {
			return wrap("set password", res.Error)
		}
		if res.RowsAffected == 0 {
			return wrap("set password", gorm.ErrRecordNotFound)
		}
		res = tx.Model(&Session{}).Where("user_id = ? AND revoked_at IS NULL AND id <> ?", userID, keep).Update("revoked_at", now)
		revoked = res.RowsAffected
		return wrap("revoke user sessions", res.Error)
	})
	return revoked, err
}

// ---- challenges ----

// UpsertChallengeVersion records a challenge and its version snapshot.
// The published flag of an existing challenge is kept.
func (s *Store) UpsertChallengeVersion(ctx context.Context, c *Challenge, v *ChallengeVersion) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"title", "kind", "difficulty", "current_version", "source_dir", "updated_at"}),
		}).Create(c).Error; err != nil {
			return wrap("upsert challenge", err)
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(v).Error; err != nil {
			return wrap("insert challenge version", err)
		}
		return nil
	})
}

// ChallengeByID returns a catalog entry.
func (s *Store) ChallengeByID(ctx context.Context, id string) (*Challenge, error) {
	var c Challenge
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&c).Error
	return &c, wrap("challenge", err)
}

// ListChallenges returns catalog entries, optionally only published ones.
func (s *Store) ListChallenges(ctx context.Context, publishedOnly bool) ([]Challenge, error) {
	var cs []Challenge
	q := s.db.WithContext(ctx).Order("id")
	if publishedOnly {
		q = q.Where("published = ?", true)
	}
	return cs, wrap("list challenges", q.Find(&cs).Error)
}

// SetPublished publishes or unpublishes a challenge.
func (s *Store) SetPublished(ctx context.Context, id string, published bool) error {
	res := s.db.WithContext(ctx).Model(&Challenge{}).Where("id = ?", id).Updates(map[string]any{"published": published, "updated_at": s.now()})
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("set published %s: %w", id, ErrNotFound)
	}
	return wrap("set published", res.Error)
}

// ---- attempts ----

// CreateAttempt inserts an attempt.
func (s *Store) CreateAttempt(ctx context.Context, a *Attempt) error {
	if a.ID == "" {
		a.ID = NewID()
	}
	return s.wrapWrite("create attempt", s.db.WithContext(ctx).Create(a).Error)
}

// AttemptByID returns an attempt.
func (s *Store) AttemptByID(ctx context.Context, id string) (*Attempt, error) {
	var a Attempt
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&a).Error
	return &a, wrap("attempt", err)
}

// AttemptsByUser lists a user's attempts, newest first.
func (s *Store) AttemptsByUser(ctx context.Context, userID string, limit int) ([]Attempt, error) {
	var as []Attempt
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("started_at DESC").Limit(limit).Find(&as).Error
	return as, wrap("attempts by user", err)
}

// ActiveAttempts lists attempts whose sandboxes should be alive.
func (s *Store) ActiveAttempts(ctx context.Context) ([]Attempt, error) {
	var as []Attempt
	err := s.db.WithContext(ctx).Where("state = ?", AttemptActive).Find(&as).Error
	return as, wrap("active attempts", err)
}

// UpdateAttempt saves the given columns of an attempt.
func (s *Store) UpdateAttempt(ctx context.Context, id string, cols map[string]any) error {
	res := s.db.WithContext(ctx).Model(&Attempt{}).Where("id = ?", id).Updates(cols)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("update attempt %s: %w", id, ErrNotFound)
	}
	return wrap("update attempt", res.Error)
}

// RevealHint records a hint reveal once; revealing again is a no-op.
func (s *Store) RevealHint(ctx context.Context, h *HintReveal) error {
	return wrap("reveal hint", s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(h).Error)
}

// HintReveals lists an attempt's revealed hints.
func (s *Store) HintReveals(ctx context.Context, attemptID string) ([]HintReveal, error) {
	var hs []HintReveal
	err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("hint_index").Find(&hs).Error
	return hs, wrap("hint reveals", err)
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
func (s *Store) EnqueueJob(ctx context.Context, attemptID, reason string) (*GradingJob, error) {
	j := &GradingJob{ID: NewID(), AttemptID: attemptID, Reason: reason, State: JobQueued, CreatedAt: s.now()}
	return j, s.wrapWrite("enqueue grading job", s.db.WithContext(ctx).Create(j).Error)
}

// LeaseJob atomically takes the oldest job that is queued, or running with
// an expired lease (its worker died), and leases it to owner until
// now+lease. It returns ErrNotFound when there is nothing to do.
func (s *Store) LeaseJob(ctx context.Context, owner string, now time.Time, lease time.Duration) (*GradingJob, error) {
	var job GradingJob
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("state = ? OR (state = ? AND lease_until < ?)", JobQueued, JobRunning, now).Order("created_at").Limit(1)
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Take(&job).Error; err != nil {
			return err
		}
		until := now.Add(lease)
		res := tx.Model(&GradingJob{}).Where("id = ? AND tries = ?", job.ID, job.Tries).Updates(map[string]any{
			"state": JobRunning, "lease_owner": owner, "lease_until": until, "tries": job.Tries + 1, "started_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound // another worker took it
		}
		job.State, job.LeaseOwner, job.LeaseUntil, job.Tries, job.StartedAt = JobRunning, owner, &until, job.Tries+1, &now
		return nil
	})
	if err != nil {
		return nil, wrap("lease grading job", err)
	}
	return &job, nil
}

// RenewLease extends a running job's lease if owner still holds it.
func (s *Store) RenewLease(ctx context.Context, jobID, owner string, until time.Time) error {
	res := s.db.WithContext(ctx).Model(&GradingJob{}).Where("id = ? AND lease_owner = ? AND state = ?", jobID, owner, JobRunning).Update("lease_until", until)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("renew lease of job %s: %w", jobID, ErrNotFound)
	}
	return wrap("renew lease", res.Error)
}

// FinishJob stores a check run with its results, marks the job done and
// updates the attempt's score, all in one transaction.
func (s *Store) FinishJob(ctx context.Context, jobID, owner string, run *CheckRun) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if run.ID == "" {
			run.ID = NewID()
		}
		run.JobID = jobID
		if err := tx.Create(run).Error; err != nil {
			return wrap("store check run", err)
		}
		res := tx.Model(&GradingJob{}).Where("id = ? AND lease_owner = ?", jobID, owner).Updates(map[string]any{
			"state": JobDone, "check_run_id": run.ID, "finished_at": run.FinishedAt, "error": "",
		})
		if res.Error != nil {
			return wrap("finish job", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("finish job %s: lease lost: %w", jobID, ErrNotFound)
		}
		return wrap("update attempt score", tx.Model(&Attempt{}).Where("id = ?", run.AttemptID).
			Updates(map[string]any{"score": run.Score, "max_score": run.MaxScore}).Error)
	})
}

// FailJob marks a job failed with a reason.
func (s *Store) FailJob(ctx context.Context, jobID, owner, reason string, now time.Time) error {
	return wrap("fail job", s.db.WithContext(ctx).Model(&GradingJob{}).Where("id = ? AND lease_owner = ?", jobID, owner).
		Updates(map[string]any{"state": JobFailed, "error": reason, "finished_at": now}).Error)
}

// JobByID returns a job.
func (s *Store) JobByID(ctx context.Context, id string) (*GradingJob, error) {
	var j GradingJob
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&j).Error
	return &j, wrap("grading job", err)
}

// CheckRunByID returns a run with its results in check order.
func (s *Store) CheckRunByID(ctx context.Context, id string) (*CheckRun, error) {
	var r CheckRun
	err := s.db.WithContext(ctx).Preload("Results", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Where("id = ?", id).Take(&r).Error
	return &r, wrap("check run", err)
}

// LatestCheckRun returns an attempt's newest run.
func (s *Store) LatestCheckRun(ctx context.Context, attemptID string) (*CheckRun, error) {
	var r CheckRun
	err := s.db.WithContext(ctx).Preload("Results", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Where("attempt_id = ?", attemptID).Order("finished_at DESC").Take(&r).Error
	return &r, wrap("latest check run", err)
}

// ---- audit ----

// Audit appends an audit event; failures are returned, never hidden.
func (s *Store) Audit(ctx context.Context, e *AuditEvent) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	return wrap("audit", s.db.WithContext(ctx).Create(e).Error)
}
