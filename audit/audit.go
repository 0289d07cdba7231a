// Package audit is the append-only record of who did what: the Event type
// every domain package writes (accounts, attempts, assignments) and the
// store persists. It imports nothing of ours.
package audit

import "time"

// Event is one audit record. Detail is a JSON object ("{}" when empty).
type Event struct {
	ID         int64
	At         time.Time
	ActorID    string
	Action     string
	ObjectType string
	ObjectID   string
	Detail     string
}
