package terminal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
)

// Ticket limits.
const (
	// DefaultTicketTTL is how long an issued ticket may be redeemed.
	DefaultTicketTTL = 30 * time.Second
	// MaxOutstandingTickets caps unredeemed tickets held in memory.
	MaxOutstandingTickets = 100_000
	ticketBytes           = 16 // 128 bits
)

// Ticket errors (match with errors.Is).
var (
	// ErrTicketInvalid: unknown, malformed or already redeemed.
	ErrTicketInvalid = errors.New("terminal ticket unknown or already used")
	// ErrTicketExpired: redeemed after its TTL.
	ErrTicketExpired = errors.New("terminal ticket expired")
	// ErrTooManyTickets: MaxOutstandingTickets reached.
	ErrTooManyTickets = apperr.New(apperr.Unavailable, "too many terminal requests; try again shortly")
	// ErrBadTerminalName: the terminal name does not match TermNamePattern.
	ErrBadTerminalName = errors.New("bad terminal name")
)

// termName is what a terminal (tab) name may look like.
var termName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,15}$`)

// ValidTermName reports whether name is an acceptable terminal name
// (1–16 of a–z, 0–9 and '-', not starting with '-').
func ValidTermName(name string) bool { return termName.MatchString(name) }

// Grant is what a ticket authorises: one terminal of one sandbox, for one
// user's attempt.
type Grant struct {
	UserID    string
	AttemptID string
	SandboxID string
	Term      string
}

type ticketEntry struct {
	grant   Grant
	expires time.Time
}

// Tickets issues and redeems single-use terminal tickets. Tokens are 128
// random bits; only their SHA-256 is kept. Safe for concurrent use.
//
// Tickets live in this process's memory: with several server replicas the
// websocket must reach the replica that issued the ticket (sticky sessions),
// which it must anyway since the shell's stream is held there.
type Tickets struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]ticketEntry
	pruned  time.Time
}

// NewTickets returns a ticket store; ttl <= 0 means DefaultTicketTTL and a
// nil now means time.Now.
func NewTickets(ttl time.Duration, now func() time.Time) *Tickets {
	if ttl <= 0 {
		ttl = DefaultTicketTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Tickets{ttl: ttl, now: now, entries: map[[sha256.Size]byte]ticketEntry{}}
}

// TTL is how long a ticket stays valid.
func (t *Tickets) TTL() time.Duration { return t.ttl }

// Issue returns a new ticket for terminal termName of sandboxID in
// attemptID, owned by userID. Call it only behind authentication.
func (t *Tickets) Issue(userID, attemptID, sandboxID, termName string) (string, error) {
	if !ValidTermName(termName) {
		return "", fmt.Errorf("issue ticket: %w: %q", ErrBadTerminalName, termName)
	}
	if attemptID == "" || sandboxID == "" {
		return "", errors.New("issue ticket: attempt and sandbox are required")
	}
	var raw [ticketBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("issue ticket: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	if len(t.entries) >= MaxOutstandingTickets {
		return "", fmt.Errorf("issue ticket: %w", ErrTooManyTickets)
	}
	t.entries[sha256.Sum256([]byte(tok))] = ticketEntry{
		grant:   Grant{UserID: userID, AttemptID: attemptID, SandboxID: sandboxID, Term: termName},
		expires: now.Add(t.ttl),
	}
	return tok, nil
}

// Redeem consumes token and returns its grant. A token works once: a
// second Redeem (or one after the TTL) fails.
func (t *Tickets) Redeem(token string) (Grant, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(ticketBytes) {
		return Grant{}, ErrTicketInvalid
	}
	h := sha256.Sum256([]byte(token))
	now := t.now()
	t.mu.Lock()
	e, ok := t.entries[h]
	delete(t.entries, h)
	t.mu.Unlock()
	if !ok {
		return Grant{}, ErrTicketInvalid
	}
	if now.After(e.expires) {
		return Grant{}, ErrTicketExpired
	}
	return e.grant, nil
}

// Outstanding is how many tickets wait to be redeemed (expired ones
// included until the next prune).
func (t *Tickets) Outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// pruneLocked drops expired tickets, at most once per TTL (amortised O(1)).
func (t *Tickets) pruneLocked(now time.Time) {
	if now.Sub(t.pruned) < t.ttl && len(t.entries) < MaxOutstandingTickets {
		return
	}
	t.pruned = now
	for k, e := range t.entries {
		if now.After(e.expires) {
			delete(t.entries, k)
		}
	}
}
