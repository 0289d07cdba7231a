package metrics

import "time"

// The methods below implement the observer interfaces the domain packages
// declare: sandbox.Observer, attempts.GradingObserver,
// assignments.WebhookObserver and accounts.LoginObserver. Each only
// updates an in-memory series: none blocks.

// SandboxStarted records a sandbox start's latency.
func (m *Metrics) SandboxStarted(challenge string, took time.Duration, fromPool bool) {
	source := "fresh"
	if fromPool {
		source = "pool"
	}
	m.sandboxStart.WithLabelValues(challengeLabel(challenge), source).Observe(took.Seconds())
}

// SandboxStartFailed counts a sandbox that could not be started.
func (m *Metrics) SandboxStartFailed(challenge string, capacity bool) {
	reason := "error"
	if capacity {
		reason = "capacity"
	}
	m.sandboxFailed.WithLabelValues(challengeLabel(challenge), reason).Inc()
}

// GradingDone records how long one grading job took.
func (m *Metrics) GradingDone(took time.Duration, outcome string) {
	m.gradingDuration.WithLabelValues(outcome).Observe(took.Seconds())
}

// WebhookTried counts one webhook delivery try.
func (m *Metrics) WebhookTried(event, outcome string) {
	m.webhooks.WithLabelValues(event, outcome).Inc()
}

// LoginFailed counts a refused login.
func (m *Metrics) LoginFailed(reason string) {
	m.loginsFailed.WithLabelValues(reason).Inc()
}

// TerminalBytes counts n bytes through a browser terminal; direction is
// "out" (shell to browser) or "in" (typed).
func (m *Metrics) TerminalBytes(direction string, n int) {
	m.terminalBytes.WithLabelValues(direction).Add(float64(n))
}

// challengeLabel names sandboxes without a challenge (author self-tests,
// `opsdojo sandbox`) "none". Challenge IDs come from the catalog, so the
// label set is bounded by the challenges installed.
func challengeLabel(id string) string {
	if id == "" {
		return "none"
	}
	return id
}
