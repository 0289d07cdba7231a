package recording

import "time"

// Meta is the stored row of one recorded terminal session: where its
// compressed asciicast is (Path, relative to the recordings directory),
// how big it grew and, when something went wrong while recording, what.
type Meta struct {
	ID        string
	AttemptID string
	Terminal  string
	Path      string
	Bytes     int64
	Events    int64
	Error     string
	StartedAt time.Time
	EndedAt   *time.Time
}
