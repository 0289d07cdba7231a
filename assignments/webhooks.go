package assignments

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/ids"
)

// Webhook events.
const (
	EventInviteOpened = "invite.opened"
	EventSubmitted    = "assignment.submitted"
	EventGraded       = "assignment.graded"
)

// Webhook headers.
const (
	HeaderSignature = "X-Opsdojo-Signature"
	HeaderTimestamp = "X-Opsdojo-Timestamp"
	HeaderEvent     = "X-Opsdojo-Event"
	HeaderDelivery  = "X-Opsdojo-Delivery"
)

// WebhookConfig says where events go and how hard to try.
type WebhookConfig struct {
	URL    string // empty: no webhooks
	Secret string // HMAC-SHA256 key
	// MaxAttempts bounds tries per delivery (default 8).
	MaxAttempts int
	// BaseBackoff is the wait after the first failure, doubled after
	// each next one up to MaxBackoff (defaults 30s and 1h).
	BaseBackoff, MaxBackoff time.Duration
	// Timeout bounds one POST (default 10s).
	Timeout time.Duration
	// PollInterval is how often due deliveries are looked for (default 1s).
	PollInterval time.Duration
	// Client overrides the HTTP client (tests).
	Client *http.Client
	// Observer is told the outcome of every try (metrics); nil: none.
	Observer WebhookObserver
}

// ValidateWebhookURL checks a configured target.
func ValidateWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: %w", raw, ErrWebhookNotAllowed)
	}
	return nil
}

// Sign returns the signature header value of body sent at timestamp ts:
// "sha256=" + hex(HMAC-SHA256(secret, "<ts>.<body>")).
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a received webhook: the signature over timestamp and
// body, and that the timestamp is within tolerance of now (replays).
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook: timestamp outside tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("webhook: signature mismatch")
	}
	return nil
}

// Event is the JSON body of a webhook.
type Event struct {
	ID        string    `json:"id"` // the delivery ID; retries keep it
	Event     string    `json:"event"`
	CreatedAt time.Time `json:"created_at"`
	Data      EventData `json:"data"`
}

// EventData describes the take-home the event is about.
type EventData struct {
	AssignmentID    string     `json:"assignment_id"`
	AssignmentTitle string     `json:"assignment_title"`
	InviteID        string     `json:"invite_id"`
	CandidateName   string     `json:"candidate_name"`
	CandidateEmail  string     `json:"candidate_email"`
	OpenedAt        *time.Time `json:"opened_at,omitempty"`
	DeadlineAt      *time.Time `json:"deadline_at,omitempty"`
	SubmittedAt     *time.Time `json:"submitted_at,omitempty"`
	Automatic       bool       `json:"automatic,omitempty"`
	Score           *int       `json:"score,omitempty"`
	MaxScore        *int       `json:"max_score,omitempty"`
	ReportURL       string     `json:"report_url,omitempty"`
}

func (s *Service) eventData(a *Assignment, inv *Invite, c *InviteClaim, graded []attempts.Attempt) EventData {
	d := EventData{AssignmentID: a.ID, AssignmentTitle: a.Title, InviteID: inv.ID, CandidateName: inv.Name, CandidateEmail: inv.Email}
	if s.cfg.PublicURL != "" {
		d.ReportURL = s.cfg.PublicURL + "/review/" + inv.ID
	}
	if c != nil {
		opened, deadline := c.OpenedAt, c.DeadlineAt
		d.OpenedAt, d.DeadlineAt = &opened, &deadline
		d.SubmittedAt, d.Automatic = c.SubmitRequestedAt, c.Automatic
	}
	if graded != nil {
		score, maxScore := 0, 0
		for _, at := range graded {
			score += at.Score
			maxScore += at.MaxScore
		}
		d.Score, d.MaxScore = &score, &maxScore
	}
	return d
}

type webhooks struct {
	st  Store
	cfg WebhookConfig
	log *slog.Logger
	now func() time.Time
	hc  *http.Client
}

func newWebhooks(st Store, cfg WebhookConfig, log *slog.Logger, now func() time.Time) *webhooks {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	hc := cfg.Client
	if hc == nil {
		hc = &http.Client{
			Timeout: cfg.Timeout,
			// A redirect could carry the signed body elsewhere: the
			// configured URL is the only target.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &webhooks{st: st, cfg: cfg, log: log.With("subsystem", "webhooks"), now: now, hc: hc}
}

// emit stores a delivery of event; the sender posts it.
func (w *webhooks) emit(ctx context.Context, event string, data EventData) {
	if w.cfg.URL == "" {
		return
	}
	now := w.now().UTC()
	d := &WebhookDelivery{ID: ids.New(), Event: event, URL: w.cfg.URL, State: DeliveryPending, NextAttemptAt: now, CreatedAt: now}
	body, err := json.Marshal(Event{ID: d.ID, Event: event, CreatedAt: now, Data: data})
	if err != nil {
		w.log.Warn("encode webhook", "event", event, "err", err)
		return
	}
	d.Payload = string(body)
	if err := w.st.EnqueueDelivery(context.WithoutCancel(ctx), d); err != nil {
		w.log.Warn("queue webhook", "event", event, "err", err)
	}
}

// backoff is the wait after the n-th failed try (n >= 1).
func (w *webhooks) backoff(n int) time.Duration {
	d := w.cfg.BaseBackoff
	for i := 1; i < n && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxBackoff)
}

func (w *webhooks) run(ctx context.Context) {
	if w.cfg.URL == "" {
		return
	}
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		w.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// deliverDue sends every due delivery once.
func (w *webhooks) deliverDue(ctx context.Context) {
	due, err := w.st.LeaseDeliveries(ctx, w.now(), 2*w.cfg.Timeout+5*time.Second, 20)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("due webhooks", "err", err)
		}
		return
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return
		}
		w.deliver(ctx, d)
	}
}

func (w *webhooks) deliver(ctx context.Context, d WebhookDelivery) {
	status, err := w.post(ctx, d)
	if err != nil && ctx.Err() != nil {
		return // shutting down: not the receiver's fault; the lease lapses and it is sent again
	}
	tries := d.Attempts + 1
	now := w.now().UTC()
	out := DeliveryOutcome{Attempts: tries, LastStatus: status}
	switch {
	case err == nil:
		out.State, out.DeliveredAt = DeliveryDelivered, &now
		w.log.Info("webhook delivered", "delivery", d.ID, "event", d.Event, "status", status, "try", tries)
	case tries >= w.cfg.MaxAttempts:
		out.State, out.LastError = DeliveryFailed, err.Error()
		w.log.Warn("webhook failed for good", "delivery", d.ID, "event", d.Event, "tries", tries, "err", err)
	default:
		next := now.Add(w.backoff(tries))
		out.NextAttemptAt, out.LastError = &next, err.Error()
		w.log.Info("webhook failed; will retry", "delivery", d.ID, "event", d.Event, "try", tries, "next", next, "err", err)
	}
	w.observe(d.Event, err, tries) // webhooks_observe.go
	if uerr := w.st.RecordDelivery(context.WithoutCancel(ctx), d.ID, out); uerr != nil {
		w.log.Warn("record webhook outcome", "delivery", d.ID, "err", uerr)
	}
}

func (w *webhooks) post(ctx context.Context, d WebhookDelivery) (int, error) {
	body := []byte(d.Payload)
	ts := w.now().Unix()
	rctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "opsdojo-webhooks/1")
	req.Header.Set(HeaderEvent, d.Event)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return resp.StatusCode, nil
}

// Deliveries lists the webhook delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	return s.st.ListDeliveries(ctx, limit)
}

// WebhooksEnabled reports whether a target is configured.
func (s *Service) WebhooksEnabled() bool { return s.hooks.cfg.URL != "" }
