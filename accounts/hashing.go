package accounts

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/opsdojo/opsdojo/apperr"
)

// ErrBusy means every password-hashing slot stayed taken for the whole
// queue wait: the server is under more logins or sign-ups than it hashes
// at once. Callers answer 503 with Retry-After.
var ErrBusy = apperr.New(apperr.Unavailable, "the server is busy checking passwords; try again in a few seconds")

// RetryError is a refusal that may succeed later: ErrRateLimited or
// ErrBusy (errors.Is works through it), with how long to wait.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// DefaultHashWait is how long a password check waits for a hashing slot.
const DefaultHashWait = 5 * time.Second

// hashGate bounds how many argon2id computations run at once. Each uses
// argonMemory (64 MiB) for its duration, so the gate is what bounds the
// server's memory under a flood of logins or sign-ups: before it, 80
// concurrent failed logins took the process to 5.3 GB.
type hashGate struct {
	slots chan struct{}
	wait  time.Duration
	hook  func() // called holding a slot, before hashing (tests)
}

func newHashGate(n int, wait time.Duration, hook func()) *hashGate {
	return &hashGate{slots: make(chan struct{}, n), wait: wait, hook: hook}
}

// do runs f holding a slot, waiting at most the gate's wait for one.
func (g *hashGate) do(ctx context.Context, f func()) error {
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-t.C:
		return &RetryError{Err: ErrBusy, After: g.wait}
	case <-ctx.Done():
		return fmt.Errorf("wait for a password-hashing slot: %w", ctx.Err())
	}
	defer func() { <-g.slots }()
	if g.hook != nil {
		g.hook()
	}
	f()
	// Collect the hash's 64 MiB before the slot is given to the next one.
	// Left to the pacer, the garbage buffers pile up to twice the live
	// heap first: with 2 slots kept busy, 80 logins peaked at 421 MB RSS
	// instead of ~200 MB. A collection here costs a few milliseconds (the
	// buffers hold no pointers) against the hash's hundreds.
	runtime.GC()
	return nil
}

// hashPassword is HashPassword inside the gate.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	var hash string
	var herr error
	if err := s.hashes.do(ctx, func() { hash, herr = HashPassword(password) }); err != nil {
		return "", err
	}
	return hash, herr
}

// timingSalt salts the hash computed for unknown accounts; the result is
// thrown away, only its cost matters.
var timingSalt = []byte("opsdojo-no-user!")

// checkPassword finds the account of email and verifies password against
// it, inside the gate. An unknown email costs one hash as well, so neither
// the answer's timing nor its queueing tells which emails have accounts.
// u is nil when the email is unknown; ok is false for a wrong password.
func (s *Service) checkPassword(ctx context.Context, email, password string) (u *User, ok bool, err error) {
	gerr := s.hashes.do(ctx, func() {
		u, err = s.st.UserByEmail(ctx, email)
		if apperr.ErrorCode(err) == apperr.NotFound {
			_ = argon2.IDKey([]byte(password), timingSalt, argonTime, argonMemory, argonThreads, argonKeyLen)
			u, err = nil, nil
			return
		}
		if err != nil {
			err = fmt.Errorf("look up %s: %w", email, err)
			return
		}
		ok, err = VerifyPassword(u.PasswordHash, password)
		if err != nil {
			s.log.Warn("stored password hash unreadable", "user", u.ID, "err", err)
			ok, err = false, nil
		}
	})
	if gerr != nil {
		return nil, false, gerr
	}
	return u, ok, err
}
