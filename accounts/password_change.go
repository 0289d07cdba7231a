package accounts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/audit"
)

// SessionStore is the part of Store that password changes and "sign out
// everywhere" use.
type SessionStore interface {
	SetPassword(ctx context.Context, userID, hash, keepSession string, now time.Time) (revoked int64, err error)
	RevokeUserSessions(ctx context.Context, userID, keepSession string, now time.Time) (int64, error)
}

// ErrWrongPassword is a password change whose current password is wrong.
var ErrWrongPassword = apperr.New(apperr.Forbidden, "the current password is wrong")

func validPassword(field, password string) error {
	if n := len([]rune(password)); n < MinPasswordLength || len(password) > MaxPasswordLength {
		return &ValidationError{field, fmt.Sprintf("must be %d to %d characters", MinPasswordLength, MaxPasswordLength)}
	}
	return nil
}

// ChangePassword sets a new password for the logged-in user of sess once
// the current one checks out, and ends every other session of theirs; sess
// itself stays logged in. Wrong current passwords count against the login
// limit of (ip, email), so a stolen session cannot be used to guess it.
func (s *Service) ChangePassword(ctx context.Context, sess *Session, current, next, ip string) (revoked int64, err error) {
	if sess == nil || sess.User == nil {
		return 0, ErrNoSession
	}
	if err := validPassword("new_password", next); err != nil {
		return 0, err
	}
	if next == current {
		return 0, &ValidationError{"new_password", "must differ from the current password"}
	}
	email, now := sess.User.Email, s.now()
	if ok, retry := s.limiter.allow(ip, email, now); !ok {
		return 0, &RetryError{Err: ErrRateLimited, After: retry}
	}
	if len(current) > MaxPasswordLength {
		s.limiter.fail(ip, email, now)
		return 0, ErrWrongPassword
	}
	// The stored hash is read fresh: the session's copy of the user may
	// be older than another tab's change.
	u, ok, err := s.checkPassword(ctx, email, current)
	if err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	if u == nil || u.ID != sess.User.ID {
		return 0, ErrNoSession
	}
	if !ok {
		s.limiter.fail(ip, email, now)
		_ = s.st.Audit(ctx, &audit.Event{ActorID: u.ID, Action: "password.change_failed", ObjectType: "user", ObjectID: u.ID, Detail: fmt.Sprintf(`{"ip":%q}`, ip)})
		return 0, ErrWrongPassword
	}
	s.limiter.succeed(ip, email)
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	revoked, err = s.st.SetPassword(ctx, u.ID, hash, sess.ID, now.UTC())
	if err != nil {
		return 0, fmt.Errorf("change password: %w", err)
	}
	_ = s.st.Audit(ctx, &audit.Event{ActorID: u.ID, Action: "password.change", ObjectType: "user", ObjectID: u.ID, Detail: fmt.Sprintf(`{"ip":%q,"sessions_revoked":%d}`, ip, revoked)})
	return revoked, nil
}

// ResetPassword is an administrator's reset (the CLI): it sets password,
// or a generated one when password is empty, and ends every session of
// the user. generated is the password to show once ("" when one was given).
func (s *Service) ResetPassword(ctx context.Context, email, password string) (u *User, generated string, revoked int64, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err = s.st.UserByEmail(ctx, email)
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, "", 0, fmt.Errorf("no account has the email %q (list accounts in the admin pages, or create one with: opsdojo user create)", email)
	}
	if err != nil {
		return nil, "", 0, fmt.Errorf("reset password: %w", err)
	}
	if password == "" {
		password = randomToken(15) // 20 characters, 120 bits
		generated = password
	}
	if err := validPassword("password", password); err != nil {
		return nil, "", 0, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, "", 0, fmt.Errorf("reset password: %w", err)
	}
	revoked, err = s.st.SetPassword(ctx, u.ID, hash, "", s.now().UTC())
	if err != nil {
		return nil, "", 0, fmt.Errorf("reset password: %w", err)
	}
	_ = s.st.Audit(ctx, &audit.Event{ActorID: u.ID, Action: "password.reset", ObjectType: "user", ObjectID: u.ID, Detail: fmt.Sprintf(`{"by":"cli","sessions_revoked":%d}`, revoked)})
	return u, generated, revoked, nil
}

// LogoutAll ends every session of the user of sess, sess included ("sign
// out everywhere").
func (s *Service) LogoutAll(ctx context.Context, sess *Session) (revoked int64, err error) {
	if sess == nil || sess.User == nil {
		return 0, ErrNoSession
	}
	revoked, err = s.st.RevokeUserSessions(ctx, sess.User.ID, "", s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("sign out everywhere: %w", err)
	}
	_ = s.st.Audit(ctx, &audit.Event{ActorID: sess.User.ID, Action: "logout.all", ObjectType: "user", ObjectID: sess.User.ID, Detail: fmt.Sprintf(`{"sessions_revoked":%d}`, revoked)})
	return revoked, nil
}
