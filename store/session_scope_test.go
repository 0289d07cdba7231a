package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// TestSessionInviteScopeMigration: migration 00003 gives the sessions
// that invite links opened before it existed the invite they were opened
// for, leaves password logins unscoped, and goes down again.
func TestSessionInviteScopeMigration(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			if err := s.MigrateTo(ctx, 2); err != nil {
				t.Fatalf("down to 00002: %v", err)
			}
			t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
			mgr := &accounts.User{Email: "mgr@example.com", Role: accounts.RoleManager, PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0}
			cora := &accounts.User{Email: "cora@example.com", Role: accounts.RoleCandidate, CreatedAt: t0, UpdatedAt: t0} // made by an invite
			pat := &accounts.User{Email: "pat@example.com", Role: accounts.RoleCandidate, PasswordHash: "x", CreatedAt: t0, UpdatedAt: t0}
			for _, u := range []*accounts.User{mgr, cora, pat} {
				if err := s.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			a := &assignments.Assignment{OwnerID: mgr.ID, Title: "t", ChallengeIDs: []string{"x"}, TimeLimitS: 3600, DeadlineAt: t0.Add(48 * time.Hour), CreatedAt: t0, UpdatedAt: t0}
			if err := s.CreateAssignment(ctx, a); err != nil {
				t.Fatal(err)
			}
			claim := func(user *accounts.User, opened time.Time) string {
				inv := &assignments.Invite{AssignmentID: a.ID, Name: "c", Email: user.Email, TokenHash: ids.New(), State: assignments.InvitePending, ExpiresAt: t0.Add(24 * time.Hour), CreatedAt: t0}
				if err := s.CreateInvite(ctx, inv); err != nil {
					t.Fatal(err)
				}
				if err := s.ClaimInvite(ctx, &assignments.InviteClaim{InviteID: inv.ID, UserID: user.ID, OpenedAt: opened, DeadlineAt: opened.Add(time.Hour)}); err != nil {
					t.Fatal(err)
				}
				return inv.ID
			}
			invA := claim(cora, t0.Add(10*time.Minute))
			invB := claim(cora, t0.Add(20*time.Minute))
			invP := claim(pat, t0.Add(10*time.Minute))
			session := func(user *accounts.User, created time.Time) string {
				id := ids.New()
				if err := s.Exec(ctx, "INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
					id, user.ID, "csrf", created, created, time.Now().UTC().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				return id
			}
			sA := session(cora, t0.Add(10*time.Minute+time.Millisecond)) // opened A
			sB := session(cora, t0.Add(20*time.Minute+time.Millisecond)) // opened B (the same account)
			sNone := session(cora, t0)                                   // before any claim: matches none
			sPat := session(pat, t0.Add(11*time.Minute))                 // a password login
			if err := s.MigrateTo(ctx, 3); err != nil {
				t.Fatalf("up to 00003: %v", err)
			}
			for _, tc := range []struct {
				name, id, want string
			}{{"session of A", sA, invA}, {"session of B", sB, invB}, {"unmatched", sNone, ""}, {"password login", sPat, ""}} {
				sess, err := s.SessionByID(ctx, tc.id, time.Now().UTC())
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				got := ""
				if sess.InviteID != nil {
					got = *sess.InviteID
				}
				if got != tc.want {
					t.Errorf("%s: invite %q, want %q (A %s, B %s, pat's %s)", tc.name, got, tc.want, invA, invB, invP)
				}
			}
			if err := s.MigrateTo(ctx, 2); err != nil {
				t.Fatalf("down again: %v", err)
			}
		})
	}
}
