package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// holdHashes is a HashHook that counts the hashes inside the gate, records
// the most at once, and holds each until release is closed.
type holdHashes struct {
	inside, peak, total atomic.Int32
	entered             chan struct{}
	release             chan struct{}
}

func newHoldHashes() *holdHashes {
	return &holdHashes{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (h *holdHashes) hook() {
	n := h.inside.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	h.total.Add(1)
	h.entered <- struct{}{}
	<-h.release
	h.inside.Add(-1)
}

func (h *holdHashes) waitEntered(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-h.entered:
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d hashes started", i, n)
		}
	}
}

// TestHashingConcurrencyBounded: logins (here for emails without an
// account, the case that cost 5.3 GB at 80 at once) never run more argon2id
// hashes at once than the gate allows; the others queue.
func TestHashingConcurrencyBounded(t *testing.T) {
	t.Parallel()
	h := newHoldHashes()
	svc := accounts.New(storetest.Open(t, store.DialectSQLite), accounts.Config{HashConcurrency: 2, HashWait: time.Minute, HashHook: h.hook},
		slog.New(slog.DiscardHandler), nil)
	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, _, err := svc.Login(context.Background(), fmt.Sprintf("nobody%d@example.com", i), "wrong password", fmt.Sprintf("192.0.2.%d", i+1), "")
			errs <- err
		}()
	}
	h.waitEntered(t, 2)
	// Give the other four every chance to start a hash they must not.
	time.Sleep(200 * time.Millisecond)
	if got := h.inside.Load(); got != 2 {
		t.Fatalf("%d hashes at once, want the gate's 2", got)
	}
	close(h.release)
	for range n {
		if err := <-errs; !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("login: %v, want wrong email or password", err)
		}
	}
	if p := h.peak.Load(); p != 2 {
		t.Fatalf("peak %d hashes at once, want 2", p)
	}
	// An unknown email costs a hash like a known one (no timing oracle),
	// and that hash went through the gate.
	if got := h.total.Load(); got != n {
		t.Fatalf("%d hashes for %d logins to unknown emails, want one each", got, n)
	}
}

// TestHashingBusy: a login that cannot get a hashing slot within the wait
// is refused with ErrBusy and a retry time, not queued for ever; sign-ups
// queue at the same gate.
func TestHashingBusy(t *testing.T) {
	t.Parallel()
	h := newHoldHashes()
	svc := accounts.New(storetest.Open(t, store.DialectSQLite), accounts.Config{HashConcurrency: 1, HashWait: 50 * time.Millisecond, HashHook: h.hook},
		slog.New(slog.DiscardHandler), nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, _ = svc.Login(context.Background(), "holder@example.com", "wrong password", "192.0.2.1", "")
	}()
	h.waitEntered(t, 1)
	_, _, err := svc.Login(context.Background(), "other@example.com", "wrong password", "192.0.2.2", "")
	var re *accounts.RetryError
	if !errors.Is(err, accounts.ErrBusy) || !errors.As(err, &re) || re.After <= 0 {
		t.Fatalf("login while the only slot is held: %v, want ErrBusy with a retry time", err)
	}
	if _, err := svc.CreateUser(context.Background(), accounts.NewUser{Email: "new@example.com", Password: "a good password", Role: accounts.RoleCandidate}); !errors.Is(err, accounts.ErrBusy) {
		t.Fatalf("sign-up while the only slot is held: %v, want ErrBusy", err)
	}
	close(h.release)
	wg.Wait()
	if _, err := svc.CreateUser(context.Background(), accounts.NewUser{Email: "new@example.com", Password: "a good password", Role: accounts.RoleCandidate}); err != nil {
		t.Fatalf("sign-up once the slot is free: %v", err)
	}
}

// TestLoginPerAddressLimit: one address failing on many accounts is
// stopped even for an account it has not tried, with the right password.
func TestLoginPerAddressLimit(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.DialectSQLite)
	svc := accounts.New(st, accounts.Config{LoginFailures: 3, LoginFailuresPerIP: 4, LoginWindow: 10 * time.Minute}, slog.New(slog.DiscardHandler), nil)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "real@example.com", Password: "a good password", Role: "candidate"}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, _, err := svc.Login(ctx, fmt.Sprintf("spray%d@example.com", i), "guess guess", "198.51.100.9", ""); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("spray %d: %v", i, err)
		}
	}
	_, _, err := svc.Login(ctx, "real@example.com", "a good password", "198.51.100.9", "")
	var re *accounts.RetryError
	if !errors.Is(err, accounts.ErrRateLimited) || !errors.As(err, &re) || re.After <= 0 || re.After > 10*time.Minute {
		t.Fatalf("5th failure from one address: %v, want rate limited with a retry within the window", err)
	}
	if _, _, err := svc.Login(ctx, "real@example.com", "a good password", "198.51.100.10", ""); err != nil {
		t.Fatalf("another address: %v", err)
	}
}
