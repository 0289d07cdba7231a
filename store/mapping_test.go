package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// The store maps its rows to the domain types and back: an assignment's
// challenge list round-trips through its JSON column, a corrupt column is
// an error naming it, typed updates change only what they set, and
// missing rows carry apperr.NotFound (what the domain packages test).
func TestDomainMapping(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)
			mgr := &accounts.User{Email: " Mgr@Example.com ", Role: accounts.RoleManager, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, mgr); err != nil {
				t.Fatal(err)
			}
			if mgr.ID == "" || mgr.Email != "mgr@example.com" {
				t.Fatalf("created user reads back as %+v", mgr)
			}
			a := &assignments.Assignment{OwnerID: mgr.ID, Title: "t", ChallengeIDs: []string{"b", "a"}, TimeLimitS: 60, DeadlineAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}
			if err := s.CreateAssignment(ctx, a); err != nil {
				t.Fatal(err)
			}
			got, err := s.AssignmentByID(ctx, a.ID)
			if err != nil || strings.Join(got.ChallengeIDs, ",") != "b,a" {
				t.Fatalf("challenge list round trip: %v %v", got, err)
			}
			if err := s.Exec(ctx, "UPDATE assignments SET challenge_ids = 'oops' WHERE id = ?", a.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AssignmentByID(ctx, a.ID); err == nil || !strings.Contains(err.Error(), "challenge_ids") {
				t.Fatalf("corrupt challenge_ids: %v, want an error naming the column", err)
			}

			at := &attempts.Attempt{ChallengeID: "c", ChallengeVersion: "v", Mode: attempts.ModePractice, State: attempts.StateActive, SandboxID: "sbx", StartedAt: now}
			if err := s.CreateAttempt(ctx, at); err != nil {
				t.Fatal(err)
			}
			end := now.Add(time.Minute)
			if err := s.UpdateAttempt(ctx, at.ID, attempts.Update{State: new(attempts.StateExpired), EndedAt: &end}); err != nil {
				t.Fatal(err)
			}
			back, err := s.AttemptByID(ctx, at.ID)
			if err != nil || back.State != attempts.StateExpired || back.EndedAt == nil || !back.EndedAt.Equal(end) || back.SandboxID != "sbx" || back.Mode != attempts.ModePractice {
				t.Fatalf("after update: %+v %v", back, err)
			}
			if err := s.UpdateAttempt(ctx, "missing", attempts.Update{Score: new(1)}); apperr.ErrorCode(err) != apperr.NotFound {
				t.Fatalf("update of a missing attempt: %v, want code not_found", err)
			}
			if _, err := s.UserByID(ctx, "missing"); apperr.ErrorCode(err) != apperr.NotFound {
				t.Fatalf("missing user: %v, want code not_found", err)
			}
			if err := s.CreateUser(ctx, &accounts.User{Email: "mgr@example.com", Role: accounts.RoleCandidate, CreatedAt: now, UpdatedAt: now}); apperr.ErrorCode(err) != apperr.Conflict {
				t.Fatalf("duplicate email: %v, want code conflict", err)
			}
		})
	}
}
