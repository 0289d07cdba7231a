package attempts

import "time"

// Outcomes of a grading job as a GradingObserver hears them.
const (
	GradingGraded = "graded" // results stored
	GradingError  = "error"  // the grader failed or could not run the checks
)

// GradingObserver is told about each finished grading; package metrics
// implements it. Calls must not block.
type GradingObserver interface {
	GradingDone(took time.Duration, outcome string)
}

func (s *Service) observeGrading(began time.Time, outcome string) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.GradingDone(time.Since(began), outcome)
	}
}
