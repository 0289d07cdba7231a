package store

import (
	"context"
	"time"
)

// ---- recordings (terminal sessions, asciicast v2) ----

// StartRecording inserts the row of a recording that has begun.
func (s *Store) StartRecording(ctx context.Context, id, attemptID, term, path string, started time.Time) error {
	r := &Recording{ID: id, AttemptID: attemptID, Terminal: term, Path: path, StartedAt: started.UTC()}
	if r.ID == "" {
		r.ID = NewID()
	}
	return s.wrapWrite("start recording", s.db.WithContext(ctx).Create(r).Error)
}

// FinishRecording stores a recording's final size, event count, end and,
// when something went wrong while recording, what (for reviewers).
func (s *Store) FinishRecording(ctx context.Context, id string, bytes, events int64, errMsg string, ended time.Time) error {
	ended = ended.UTC()
	res := s.db.WithContext(ctx).Model(&Recording{}).Where("id = ?", id).Updates(map[string]any{
		"bytes": bytes, "events": events, "error": errMsg, "ended_at": &ended,
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return wrap("finish recording", ErrNotFound)
	}
	return wrap("finish recording", res.Error)
}

// RecordingByID returns one recording's row.
func (s *Store) RecordingByID(ctx context.Context, id string) (*Recording, error) {
	var r Recording
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	return &r, wrap("recording", err)
}

// RecordingsByAttempt lists an attempt's recordings, oldest first.
func (s *Store) RecordingsByAttempt(ctx context.Context, attemptID string) ([]Recording, error) {
	var rs []Recording
	err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("started_at, terminal").Find(&rs).Error
	return rs, wrap("recordings by attempt", err)
}
