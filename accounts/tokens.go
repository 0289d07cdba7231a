package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
)

// Scope is what a personal access token may do; never more than its
// owner's role allows.
type Scope string

// The three scopes (the CHECK of api_tokens.scope).
const (
	// ScopeRead allows reading (GET) only.
	ScopeRead Scope = "read"
	// ScopeAssignments allows reading, creating assignments and inviting
	// candidates: what an ATS needs.
	ScopeAssignments Scope = "assignments"
	// ScopeAdmin allows everything the owner's role allows.
	ScopeAdmin Scope = "admin"
)

// ParseScope turns user input into a Scope.
func ParseScope(s string) (Scope, error) {
	switch sc := Scope(strings.TrimSpace(s)); sc {
	case ScopeRead, ScopeAssignments, ScopeAdmin:
		return sc, nil
	}
	return "", &ValidationError{Field: "scope", Msg: fmt.Sprintf("%q is not a scope; use read, assignments or admin", s)}
}

// TokenPrefix starts every personal access token, so that one pasted into
// the wrong place is recognisable (secret scanners, logs).
const TokenPrefix = "odj_"

// MaxTokenTTL bounds a token's lifetime.
const MaxTokenTTL = 366 * 24 * time.Hour

// APIToken is a stored personal access token. ID names it in URLs;
// TokenHash is the SHA-256 of the token, which is shown once and never
// stored.
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	TokenHash  string
	Prefix     string // the token's first characters, for the list
	Scope      Scope
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: never expires
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Errors of tokens.
var (
	ErrBadToken        = apperr.New(apperr.Unauthorized, "invalid, expired or revoked API token")
	ErrTokenFromInvite = apperr.New(apperr.Forbidden, "a session opened by an invite link cannot create API tokens; log in with a password")
	ErrTokenNeedsAdmin = apperr.New(apperr.Forbidden, "only a token with the admin scope can manage API tokens")
	ErrTokenNotFound   = apperr.New(apperr.NotFound, "no such API token of yours")
)

// TokenStore is what Tokens needs from storage.
type TokenStore interface {
	CreateAPIToken(ctx context.Context, t *APIToken) error
	APITokenByHash(ctx context.Context, hash string) (*APIToken, error)
	TouchAPIToken(ctx context.Context, id string, now time.Time) error
	ListAPITokens(ctx context.Context, userID string) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id string, now time.Time) (bool, error)
	UserByID(ctx context.Context, id string) (*User, error)
}

// Tokens manages personal access tokens.
type Tokens struct {
	st  TokenStore
	now func() time.Time
}

// NewTokens returns the token service.
func NewTokens(st TokenStore, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{st: st, now: now}
}

// NewAPIToken is a request to create a token.
type NewAPIToken struct {
	Name  string
	Scope Scope
	TTL   time.Duration // 0: never expires
}

// Create makes a token for the owner of sess and returns it in clear (the
// only time it is seen) with its record. viaToken is the token the request
// itself came with, if any (only an admin-scoped one may create tokens).
func (t *Tokens) Create(ctx context.Context, sess *Session, viaToken *APIToken, in NewAPIToken) (string, *APIToken, error) {
	if sess == nil {
		return "", nil, ErrNoSession
	}
	if sess.InviteID != "" {
		return "", nil, ErrTokenFromInvite
	}
	if viaToken != nil && viaToken.Scope != ScopeAdmin {
		return "", nil, ErrTokenNeedsAdmin
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 100 {
		return "", nil, &ValidationError{Field: "name", Msg: "give the token a name of 1 to 100 characters (what uses it)"}
	}
	if _, err := ParseScope(string(in.Scope)); err != nil {
		return "", nil, err
	}
	if in.TTL < 0 || in.TTL > MaxTokenTTL {
		return "", nil, &ValidationError{Field: "expires", Msg: "a token expires after 1 to 366 days, or never"}
	}
	raw := TokenPrefix + randomToken(32)
	now := t.now().UTC()
	rec := &APIToken{ID: randomToken(9), UserID: sess.User.ID, Name: name, TokenHash: HashToken(raw),
		Prefix: raw[:len(TokenPrefix)+6], Scope: in.Scope, CreatedAt: now}
	if in.TTL > 0 {
		exp := now.Add(in.TTL)
		rec.ExpiresAt = &exp
	}
	if err := t.st.CreateAPIToken(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("create API token: %w", err)
	}
	return raw, rec, nil
}

// Authenticate resolves a Bearer token to its owner's session (a session
// with no cookie and no CSRF token) and the token; it records the use.
func (t *Tokens) Authenticate(ctx context.Context, raw string) (*Session, *APIToken, error) {
	if !strings.HasPrefix(raw, TokenPrefix) || len(raw) > 200 {
		return nil, nil, ErrBadToken
	}
	rec, err := t.st.APITokenByHash(ctx, HashToken(raw))
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, nil, ErrBadToken
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authenticate API token: %w", err)
	}
	now := t.now().UTC()
	if rec.RevokedAt != nil || rec.ExpiresAt != nil && !now.Before(*rec.ExpiresAt) {
		return nil, nil, ErrBadToken
	}
	u, err := t.st.UserByID(ctx, rec.UserID)
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, nil, ErrBadToken
	}
	if err != nil {
		return nil, nil, fmt.Errorf("API token owner: %w", err)
	}
	if u.Disabled {
		return nil, nil, ErrBadToken
	}
	if err := t.st.TouchAPIToken(ctx, rec.ID, now); err != nil {
		return nil, nil, fmt.Errorf("record API token use: %w", err)
	}
	rec.LastUsedAt = &now
	return &Session{User: u, ID: "token:" + rec.ID}, rec, nil
}

// List returns the tokens of the owner of sess, newest first.
func (t *Tokens) List(ctx context.Context, sess *Session) ([]APIToken, error) {
	if sess == nil {
		return nil, ErrNoSession
	}
	return t.st.ListAPITokens(ctx, sess.User.ID)
}

// Revoke ends one of the owner's tokens.
func (t *Tokens) Revoke(ctx context.Context, sess *Session, viaToken *APIToken, id string) error {
	if sess == nil {
		return ErrNoSession
	}
	if viaToken != nil && viaToken.Scope != ScopeAdmin && viaToken.ID != id {
		return ErrTokenNeedsAdmin
	}
	ok, err := t.st.RevokeAPIToken(ctx, sess.User.ID, id, t.now().UTC())
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	if !ok {
		return ErrTokenNotFound
	}
	return nil
}

// Allows reports whether scope permits method on an /api/v1 path (rest is
// the path after /api/v1). Roles are checked separately, by the routes: a
// token never grants more than its owner's role.
func (s Scope) Allows(method, rest string) bool {
	if method == "GET" || method == "HEAD" {
		return true
	}
	switch s {
	case ScopeAdmin:
		return true
	case ScopeAssignments:
		parts := strings.Split(strings.Trim(rest, "/"), "/")
		// POST /assignments, POST /assignments/:id/invites
		if method == "POST" && parts[0] == "assignments" && (len(parts) == 1 || len(parts) == 3 && parts[2] == "invites") {
			return true
		}
	}
	return false
}
