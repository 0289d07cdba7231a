package accounts

import (
	"context"
	"errors"
)

// Reasons a login is refused, as a LoginObserver hears them.
const (
	LoginInvalid     = "invalid"      // unknown email, wrong password or disabled account
	LoginRateLimited = "rate_limited" // too many failures from the address or for the email
	LoginBusy        = "busy"         // no password-hashing slot in time
)

// LoginObserver is told about every refused login; package metrics
// implements it. Calls must not block.
type LoginObserver interface {
	LoginFailed(reason string)
}

// Login checks credentials and opens a new session, returning the cookie
// token (never stored). Callers revoke any previous session (rotation).
// A refused login is reported to the Observer.
func (s *Service) Login(ctx context.Context, email, password, ip, userAgent string) (string, *Session, error) {
	token, sess, err := s.login(ctx, email, password, ip, userAgent)
	if err != nil && s.cfg.Observer != nil {
		switch {
		case errors.Is(err, ErrInvalidCredentials):
			s.cfg.Observer.LoginFailed(LoginInvalid)
		case errors.Is(err, ErrRateLimited):
			s.cfg.Observer.LoginFailed(LoginRateLimited)
		case errors.Is(err, ErrBusy):
			s.cfg.Observer.LoginFailed(LoginBusy)
		}
	}
	return token, sess, err
}
