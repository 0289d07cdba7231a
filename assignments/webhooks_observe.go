package assignments

// Outcomes of one webhook try as a WebhookObserver hears them.
const (
	WebhookSent   = "sent"   // the receiver answered 2xx
	WebhookRetry  = "retry"  // failed; it will be tried again
	WebhookFailed = "failed" // failed for good after MaxAttempts tries
)

// WebhookObserver is told the outcome of every delivery try; package
// metrics implements it. Calls must not block.
type WebhookObserver interface {
	WebhookTried(event, outcome string)
}

func (w *webhooks) observe(event string, err error, tries int) {
	if w.cfg.Observer == nil {
		return
	}
	outcome := WebhookSent
	switch {
	case err == nil:
	case tries >= w.cfg.MaxAttempts:
		outcome = WebhookFailed
	default:
		outcome = WebhookRetry
	}
	w.cfg.Observer.WebhookTried(event, outcome)
}
