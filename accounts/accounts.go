// Package accounts is local accounts and login sessions: argon2id password
// hashes, random session tokens stored only as hashes, idle and absolute
// timeouts, rotation at login, revocation at logout, and a login rate
// limit. HTTP concerns (cookies, CSRF checks) live in server/.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/mail"
	"runtime"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/audit"
)

// Store is the persistence accounts need.
type Store interface {
	CreateUser(ctx context.Context, u *User) error
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)
	CountUsersWithRole(ctx context.Context, role Role) (int64, error)
	CreateSession(ctx context.Context, s *SessionRecord) error
	SessionByID(ctx context.Context, id string, now time.Time) (*SessionRecord, error)
	TouchSession(ctx context.Context, id string, now time.Time) error
	RevokeSession(ctx context.Context, id string, now time.Time) error
	Audit(ctx context.Context, e *audit.Event) error
	SessionStore // password_change.go
}

// Errors callers map to answers.
var (
	ErrInvalidCredentials = apperr.New(apperr.Unauthorized, "wrong email or password")
	ErrRateLimited        = apperr.New(apperr.TooManyRequests, "too many failed logins; wait a few minutes and try again")
	ErrNoSession          = apperr.New(apperr.Unauthorized, "not logged in")
	ErrEmailTaken         = apperr.New(apperr.Unprocessable, "an account with this email already exists")
)

// ValidationError names the field that is wrong.
type ValidationError struct{ Field, Msg string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// ErrorCode makes a validation error unprocessable (HTTP 422).
func (e *ValidationError) ErrorCode() apperr.Code { return apperr.Unprocessable }

// Config holds session and rate-limit settings.
type Config struct {
	IdleTimeout     time.Duration // session ends after this long without use
	AbsoluteTimeout time.Duration // session ends this long after login, used or not
	LoginFailures   int           // failures allowed per window per (ip, email)
	LoginWindow     time.Duration
	// LoginFailuresPerIP is the failures allowed per window from one
	// client address (IPv6: one /64), whatever the emails.
	LoginFailuresPerIP int
	// LimiterKeys bounds the keys each failure table remembers.
	LimiterKeys int
	// HashConcurrency bounds argon2id hashes running at once (64 MiB
	// each); default: the number of CPUs Go uses.
	HashConcurrency int
	// HashWait is how long a login or sign-up waits for a hashing slot
	// before it is refused with ErrBusy.
	HashWait time.Duration
	// HashHook, when set, runs inside the hashing gate before each hash
	// (tests count and hold hashes with it).
	HashHook func()
	// Observer is told about refused logins (metrics); nil: none.
	Observer LoginObserver
}

// DefaultConfig is a reasonable production default.
func DefaultConfig() Config {
	return Config{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 24 * time.Hour, LoginFailures: 5, LoginWindow: 15 * time.Minute,
		LoginFailuresPerIP: 100, LimiterKeys: DefaultLimiterKeys, HashConcurrency: runtime.GOMAXPROCS(0), HashWait: DefaultHashWait}
}

// Service is the accounts domain.
type Service struct {
	st      Store
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	limiter *loginLimiter
	hashes  *hashGate
}

// New returns a Service.
func New(st Store, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	d := DefaultConfig()
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = d.IdleTimeout
	}
	if cfg.AbsoluteTimeout <= 0 {
		cfg.AbsoluteTimeout = d.AbsoluteTimeout
	}
	if cfg.LoginFailures <= 0 {
		cfg.LoginFailures = d.LoginFailures
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = d.LoginWindow
	}
	if cfg.LoginFailuresPerIP <= 0 {
		cfg.LoginFailuresPerIP = d.LoginFailuresPerIP
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = d.HashConcurrency
	}
	if cfg.HashWait <= 0 {
		cfg.HashWait = d.HashWait
	}
	return &Service{st: st, cfg: cfg, log: log.With("component", "accounts"), now: now,
		limiter: newLoginLimiter(cfg.LoginFailures, cfg.LoginFailuresPerIP, cfg.LoginWindow, cfg.LimiterKeys),
		hashes:  newHashGate(cfg.HashConcurrency, cfg.HashWait, cfg.HashHook)}
}

// NewUser is what CreateUser needs.
type NewUser struct {
	Email, Name, Password string
	Role                  Role
}

// CreateUser validates and stores a new account.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	email := strings.ToLower(strings.TrimSpace(nu.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return nil, &ValidationError{"email", fmt.Sprintf("%q is not an email address", nu.Email)}
	}
	if !nu.Role.Valid() {
		return nil, &ValidationError{"role", fmt.Sprintf("%q is not a role; use candidate, manager, author or admin", nu.Role)}
	}
	if n := len([]rune(nu.Password)); n < MinPasswordLength || len(nu.Password) > MaxPasswordLength {
		return nil, &ValidationError{"password", fmt.Sprintf("must be %d to %d characters", MinPasswordLength, MaxPasswordLength)}
	}
	name := strings.TrimSpace(nu.Name)
	if name == "" {
		name = strings.SplitN(email, "@", 2)[0]
	}
	if len(name) > 200 {
		return nil, &ValidationError{"name", "must be at most 200 characters"}
	}
	hash, err := s.hashPassword(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	u := &User{Email: email, Name: name, Role: nu.Role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.st.CreateUser(ctx, u); err != nil {
		if apperr.ErrorCode(err) == apperr.Conflict {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	_ = s.st.Audit(ctx, &audit.Event{ActorID: u.ID, Action: "user.create", ObjectType: "user", ObjectID: u.ID, Detail: fmt.Sprintf(`{"role":%q}`, u.Role)})
	return u, nil
}

// EnsureAdmin creates a first admin when none exists. With an empty
// password a random one is generated; created reports whether an account
// was made and password is the one to show once.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (created bool, pw string, err error) {
	n, err := s.st.CountUsersWithRole(ctx, RoleAdmin)
	if err != nil {
		return false, "", err
	}
	if n > 0 {
		return false, "", nil
	}
	if email == "" {
		email = "admin@opsdojo.local"
	}
	if password == "" {
		password = randomToken(15)
	}
	if _, err := s.CreateUser(ctx, NewUser{Email: email, Name: "Administrator", Password: password, Role: RoleAdmin}); err != nil {
		return false, "", fmt.Errorf("create first admin: %w", err)
	}
	return true, password, nil
}

// Session is an authenticated login.
type Session struct {
	User      *User
	ID        string // hash of the token
	CSRFToken string
	ExpiresAt time.Time
	// InviteID is set when an invite link opened the session: it reaches
	// that invite's take-home only (server/invite_scope.go).
	InviteID string
}

// login is Login without the observation (observe.go).
func (s *Service) login(ctx context.Context, email, password, ip, userAgent string) (token string, sess *Session, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.now()
	if ok, retry := s.limiter.allow(ip, email, now); !ok {
		return "", nil, &RetryError{Err: ErrRateLimited, After: retry}
	}
	if len(password) > MaxPasswordLength {
		s.limiter.fail(ip, email, now)
		return "", nil, ErrInvalidCredentials
	}
	u, ok, err := s.checkPassword(ctx, email, password)
	if err != nil {
		return "", nil, fmt.Errorf("login: %w", err)
	}
	if u == nil {
		s.limiter.fail(ip, email, now)
		return "", nil, ErrInvalidCredentials
	}
	if !ok || u.Disabled {
		s.limiter.fail(ip, email, now)
		_ = s.st.Audit(ctx, &audit.Event{ActorID: u.ID, Action: "login.failed", ObjectType: "user", ObjectID: u.ID, Detail: fmt.Sprintf(`{"ip":%q}`, ip)})
		return "", nil, ErrInvalidCredentials
	}
	s.limiter.succeed(ip, email)
	token = randomToken(32)
	rec := &SessionRecord{
		ID: HashToken(token), UserID: u.ID, CSRFToken: randomToken(32),
		CreatedAt: now.UTC(), LastSeenAt: now.UTC(), ExpiresAt: now.Add(s.cfg.AbsoluteTimeout).UTC(),
		IP: ip, UserAgent: truncate(userAgent, 300),
	}
	if err := s.st.CreateSession(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("login: %w", err)
	}
	_ = s.st.Audit(ctx, &audit.Event{ActorID: u.ID, Action: "login", ObjectType: "user", ObjectID: u.ID, Detail: fmt.Sprintf(`{"ip":%q}`, ip)})
	return token, &Session{User: u, ID: rec.ID, CSRFToken: rec.CSRFToken, ExpiresAt: rec.ExpiresAt}, nil
}

// Authenticate resolves a cookie token to its live session, enforcing the
// idle and absolute timeouts, and records activity.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 200 {
		return nil, ErrNoSession
	}
	now := s.now()
	rec, err := s.st.SessionByID(ctx, HashToken(token), now.UTC())
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if now.Sub(rec.LastSeenAt) > s.cfg.IdleTimeout {
		_ = s.st.RevokeSession(ctx, rec.ID, now.UTC())
		return nil, ErrNoSession
	}
	u, err := s.st.UserByID(ctx, rec.UserID)
	if err != nil || u.Disabled {
		return nil, ErrNoSession
	}
	// Write activity at most once a minute to spare the database.
	if now.Sub(rec.LastSeenAt) > time.Minute {
		if err := s.st.TouchSession(ctx, rec.ID, now.UTC()); err != nil {
			s.log.Warn("touch session", "err", err)
		}
	}
	sess := &Session{User: u, ID: rec.ID, CSRFToken: rec.CSRFToken, ExpiresAt: rec.ExpiresAt}
	if rec.InviteID != nil {
		sess.InviteID = *rec.InviteID
	}
	return sess, nil
}

// Logout revokes the session of token on the server.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.st.RevokeSession(ctx, HashToken(token), s.now().UTC())
}

// HashToken is how tokens are stored: SHA-256, hex.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken returns a fresh 256-bit random token (for CSRF cookies and
// similar one-off secrets).
func NewToken() string { return randomToken(32) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
