package store

import (
	"context"
	"time"

	"github.com/opsdojo/opsdojo/recording"
)

// ---- recordings (terminal sessions, asciicast v2) ----

// StartRecording inserts the row of a recording that has begun.
func (s *Store) StartRecording(ctx context.Context, id, attemptID, term, path string, started time.Time) error {
	r := &recordingRow{ID: id, AttemptID: attemptID, Terminal: term, Path: path, StartedAt: started.UTC()}
	if r.ID == "" {
		r.ID = NewID()
	}
	return s.wrapWrite("start recording", s.db.WithContext(ctx).Create(r).Error)
}

// FinishRecording stores a recording's final size, event count, end and,
// when something went wrong while recording, what (for reviewers).
func (s *Store) FinishRecording(ctx context.Context, id string, bytes, events int64, errMsg string, ended time.Time) error {
	ended = ended.UTC()
	res := s.db.WithContext(ctx).Model(&recordingRow{}).Where("id = ?", id).Updates(map[string]any{
		"bytes": bytes, "events": events, "error": errMsg, "ended_at": &ended,
	})
	if res.Error == nil && res.RowsAffected == 0 {
		return wrap("finish recording", ErrNotFound)
	}
	return wrap("finish recording", res.Error)
}

// RecordingByID returns one recording's row.
func (s *Store) RecordingByID(ctx context.Context, id string) (*recording.Meta, error) {
	var r recordingRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, wrap("recording", err)
	}
	m := recordingOf(r)
	return &m, nil
}

// RecordingsByAttempt lists an attempt's recordings, oldest first.
func (s *Store) RecordingsByAttempt(ctx context.Context, attemptID string) ([]recording.Meta, error) {
	var rs []recordingRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("started_at, terminal").Find(&rs).Error; err != nil {
		return nil, wrap("recordings by attempt", err)
	}
	return mapAll(rs, recordingOf), nil
}
