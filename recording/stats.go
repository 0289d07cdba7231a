package recording

// Dropped reports the terminal events (and their bytes) every recording of
// this Recorder dropped since it started because the recorder fell behind
// (metrics reads it at scrape time).
func (r *Recorder) Dropped() (events, bytes int64) {
	return r.droppedEvents.Load(), r.droppedBytes.Load()
}
