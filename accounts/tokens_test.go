package accounts_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/store/storetest"
)

func TestScopeAllows(t *testing.T) {
	cases := []struct {
		scope        accounts.Scope
		method, rest string
		want         bool
	}{
		{accounts.ScopeRead, "GET", "assignments/x/scores.csv", true},
		{accounts.ScopeRead, "POST", "assignments", false},
		{accounts.ScopeRead, "PUT", "attempts/x/files", false},
		{accounts.ScopeAssignments, "POST", "assignments", true},
		{accounts.ScopeAssignments, "POST", "assignments/x/invites", true},
		{accounts.ScopeAssignments, "POST", "review/x/attempts/y", false},
		{accounts.ScopeAssignments, "POST", "tokens", false},
		{accounts.ScopeAssignments, "DELETE", "tokens/x", false},
		{accounts.ScopeAssignments, "POST", "challenges/x/attempts", false},
		{accounts.ScopeAdmin, "POST", "review/x/attempts/y", true},
		{accounts.ScopeAdmin, "DELETE", "tokens/x", true},
	}
	for _, c := range cases {
		if got := c.scope.Allows(c.method, c.rest); got != c.want {
			t.Errorf("%s %s %s: %v, want %v", c.scope, c.method, c.rest, got, c.want)
		}
	}
}

// TestTokenRules: bad input is named; a disabled owner's token stops
// working; a non-admin token cannot create tokens.
func TestTokenRules(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, storetest.SQLite)
	ctx := context.Background()
	acc := accounts.New(st, accounts.Config{}, slog.New(slog.DiscardHandler), time.Now)
	u, err := acc.CreateUser(ctx, accounts.NewUser{Email: "m@example.com", Name: "M", Password: "manager password 1", Role: accounts.RoleManager})
	if err != nil {
		t.Fatal(err)
	}
	tokens := accounts.NewTokens(st, time.Now)
	sess := &accounts.Session{User: u}
	for _, in := range []accounts.NewAPIToken{
		{Name: "", Scope: accounts.ScopeRead},
		{Name: "x", Scope: "root"},
		{Name: "x", Scope: accounts.ScopeRead, TTL: 400 * 24 * time.Hour},
	} {
		var ve *accounts.ValidationError
		if _, _, err := tokens.Create(ctx, sess, nil, in); !errors.As(err, &ve) {
			t.Errorf("%+v: %v, want a ValidationError", in, err)
		}
	}
	raw, rec, err := tokens.Create(ctx, sess, nil, accounts.NewAPIToken{Name: "ci", Scope: accounts.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tokens.Create(ctx, sess, rec, accounts.NewAPIToken{Name: "more", Scope: accounts.ScopeAdmin}); !errors.Is(err, accounts.ErrTokenNeedsAdmin) {
		t.Fatalf("read token creating a token: %v", err)
	}
	if _, _, err := tokens.Authenticate(ctx, raw); err != nil {
		t.Fatal(err)
	}
	disabled := accounts.NewTokens(disabledOwners{st}, time.Now)
	if _, _, err := disabled.Authenticate(ctx, raw); !errors.Is(err, accounts.ErrBadToken) {
		t.Fatalf("token of a disabled owner: %v, want ErrBadToken", err)
	}
}

// disabledOwners is the store with every user disabled.
type disabledOwners struct{ accounts.TokenStore }

func (d disabledOwners) UserByID(ctx context.Context, id string) (*accounts.User, error) {
	u, err := d.TokenStore.UserByID(ctx, id)
	if u != nil {
		u.Disabled = true
	}
	return u, err
}
