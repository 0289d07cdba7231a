package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/audit"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

func seedAssignment(t *testing.T, s *store.Store, now time.Time) (*accounts.User, *assignments.Assignment) {
	t.Helper()
	ctx := context.Background()
	mgr := &accounts.User{Email: "mgr-" + ids.New()[:6] + "@example.com", Role: accounts.RoleManager, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, mgr); err != nil {
		t.Fatal(err)
	}
	a := &assignments.Assignment{OwnerID: mgr.ID, Title: "Take-home", ChallengeIDs: []string{"edit-config"}, TimeLimitS: 3600,
		DeadlineAt: now.Add(48 * time.Hour), InterviewMode: true, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateAssignment(ctx, a); err != nil {
		t.Fatal(err)
	}
	return mgr, a
}

func TestAssignmentInviteClaimLifecycle(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)
			mgr, a := seedAssignment(t, s, now)

			list, err := s.ListAssignments(ctx, mgr.ID)
			if err != nil || len(list) != 1 || list[0].ID != a.ID {
				t.Fatalf("own list %v %v", list, err)
			}
			if list, _ := s.ListAssignments(ctx, "someone-else"); len(list) != 0 {
				t.Fatalf("other owner sees %d assignments", len(list))
			}

			inv := &assignments.Invite{AssignmentID: a.ID, Name: "Ada", Email: "ada@example.com", TokenHash: "h1", State: assignments.InvitePending, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
			if err := s.CreateInvite(ctx, inv); err != nil {
				t.Fatal(err)
			}
			dup := &assignments.Invite{AssignmentID: a.ID, Name: "X", Email: "x@example.com", TokenHash: "h1", State: assignments.InvitePending, ExpiresAt: now, CreatedAt: now}
			if err := s.CreateInvite(ctx, dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate token hash: %v, want ErrConflict", err)
			}
			got, err := s.InviteByTokenHash(ctx, "h1")
			if err != nil || got.ID != inv.ID {
				t.Fatalf("by token: %v %v", got, err)
			}
			if _, err := s.InviteByTokenHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown token: %v", err)
			}

			cand := &accounts.User{Email: "ada@example.com", Role: accounts.RoleCandidate, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, cand); err != nil {
				t.Fatal(err)
			}
			claim := &assignments.InviteClaim{InviteID: inv.ID, UserID: cand.ID, OpenedAt: now, DeadlineAt: now.Add(30 * time.Minute)}
			if err := s.ClaimInvite(ctx, claim); err != nil {
				t.Fatal(err)
			}
			again := &assignments.InviteClaim{InviteID: inv.ID, UserID: cand.ID, OpenedAt: now, DeadlineAt: now.Add(30 * time.Minute)}
			if err := s.ClaimInvite(ctx, again); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("second claim: %v, want ErrConflict", err)
			}
			if got, _ := s.InviteByID(ctx, inv.ID); got.State != assignments.InviteOpened || got.OpenedAt == nil {
				t.Fatalf("invite after claim: %+v", got)
			}

			// Not overdue yet; overdue after the deadline.
			if cs, _ := s.OverdueClaims(ctx, now, 10); len(cs) != 0 {
				t.Fatalf("overdue before deadline: %v", cs)
			}
			later := now.Add(31 * time.Minute)
			if cs, _ := s.OverdueClaims(ctx, later, 10); len(cs) != 1 {
				t.Fatalf("overdue after deadline: %v", cs)
			}
			// A manual submission after the deadline is refused; the
			// automatic one goes through, once.
			if ok, err := s.RequestSubmit(ctx, inv.ID, later, false); ok || err != nil {
				t.Fatalf("late manual submit: %v %v", ok, err)
			}
			if ok, err := s.RequestSubmit(ctx, inv.ID, later, true); !ok || err != nil {
				t.Fatalf("automatic submit: %v %v", ok, err)
			}
			if ok, _ := s.RequestSubmit(ctx, inv.ID, later, true); ok {
				t.Fatal("second submit accepted")
			}
			un, err := s.UnfinalizedClaims(ctx, 10)
			if err != nil || len(un) != 1 || !un[0].Automatic {
				t.Fatalf("unfinalized %v %v", un, err)
			}
			if ok, _ := s.LeaseClaim(ctx, inv.ID, later, later.Add(time.Minute)); !ok {
				t.Fatal("lease refused")
			}
			if ok, _ := s.LeaseClaim(ctx, inv.ID, later, later.Add(time.Minute)); ok {
				t.Fatal("lease taken twice")
			}
			if ok, _ := s.LeaseClaim(ctx, inv.ID, later.Add(2*time.Minute), later.Add(3*time.Minute)); !ok {
				t.Fatal("expired lease not retaken")
			}
			if err := s.FinalizeClaim(ctx, inv.ID, later, ""); err != nil {
				t.Fatal(err)
			}
			if un, _ := s.UnfinalizedClaims(ctx, 10); len(un) != 0 {
				t.Fatalf("still unfinalized: %v", un)
			}
			got, _ = s.InviteByID(ctx, inv.ID)
			if got.State != assignments.InviteSubmitted || got.SubmittedAt == nil || !got.SubmittedAt.Equal(later) {
				t.Fatalf("invite after finalize: %+v", got)
			}
			cm, err := s.ClaimsByInvites(ctx, []string{inv.ID, "other"})
			if err != nil || len(cm) != 1 || cm[inv.ID].FinalizedAt == nil {
				t.Fatalf("claims by invites %v %v", cm, err)
			}
		})
	}
}

func TestInviteExpireAndRevoke(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			now := time.Now().UTC()
			_, a := seedAssignment(t, s, now)
			old := &assignments.Invite{AssignmentID: a.ID, Name: "Old", Email: "o@example.com", TokenHash: "old", State: assignments.InvitePending, ExpiresAt: now.Add(-time.Minute), CreatedAt: now}
			fresh := &assignments.Invite{AssignmentID: a.ID, Name: "New", Email: "n@example.com", TokenHash: "new", State: assignments.InvitePending, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
			for _, inv := range []*assignments.Invite{old, fresh} {
				if err := s.CreateInvite(ctx, inv); err != nil {
					t.Fatal(err)
				}
			}
			// An expired invite cannot be claimed even before the sweep.
			cand := &accounts.User{Email: "o@example.com", Role: accounts.RoleCandidate, CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, cand); err != nil {
				t.Fatal(err)
			}
			if err := s.ClaimInvite(ctx, &assignments.InviteClaim{InviteID: old.ID, UserID: cand.ID, OpenedAt: now, DeadlineAt: now}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("claim of expired invite: %v", err)
			}
			n, err := s.ExpireInvites(ctx, now)
			if err != nil || n != 1 {
				t.Fatalf("expired %d %v", n, err)
			}
			if ok, err := s.RevokeInvite(ctx, fresh.ID); !ok || err != nil {
				t.Fatalf("revoke %v %v", ok, err)
			}
			if ok, _ := s.RevokeInvite(ctx, fresh.ID); ok {
				t.Fatal("revoked twice")
			}
			list, _ := s.InvitesByAssignment(ctx, a.ID)
			states := map[string]assignments.InviteState{}
			for _, i := range list {
				states[i.Name] = i.State
			}
			if states["Old"] != assignments.InviteExpired || states["New"] != assignments.InviteRevoked {
				t.Fatalf("states %v", states)
			}
		})
	}
}

func TestSubmissionReviewAndRuns(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			now := time.Now().UTC()
			mgr, a := seedAssignment(t, s, now)
			inv := &assignments.Invite{AssignmentID: a.ID, Name: "Ada", Email: "ada@example.com", TokenHash: "t", State: assignments.InvitePending, ExpiresAt: now.Add(time.Hour), CreatedAt: now}
			if err := s.CreateInvite(ctx, inv); err != nil {
				t.Fatal(err)
			}
			att := &attempts.Attempt{InviteID: &inv.ID, ChallengeID: "edit-config", ChallengeVersion: "v1", Mode: attempts.ModeAssignment, State: attempts.StateActive, StartedAt: now}
			if err := s.CreateAttempt(ctx, att); err != nil {
				t.Fatal(err)
			}
			if as, err := s.AttemptsByInvite(ctx, inv.ID); err != nil || len(as) != 1 {
				t.Fatalf("attempts by invite %v %v", as, err)
			}
			sub := &assignments.Submission{AttemptID: att.ID, Files: "[]", Diff: "--- a\n+++ b\n", SubmittedAt: now}
			if ok, err := s.CreateSubmission(ctx, sub); !ok || err != nil {
				t.Fatalf("submission %v %v", ok, err)
			}
			if ok, err := s.CreateSubmission(ctx, &assignments.Submission{AttemptID: att.ID, Files: "[]", SubmittedAt: now}); ok || err != nil {
				t.Fatalf("second submission %v %v", ok, err)
			}
			if got, err := s.SubmissionByAttempt(ctx, att.ID); err != nil || got.Diff != sub.Diff {
				t.Fatalf("submission %v %v", got, err)
			}

			score := 7
			r := &assignments.Review{AttemptID: att.ID, ReviewerID: mgr.ID, Notes: "good", RubricScore: &score, CreatedAt: now, UpdatedAt: now}
			if err := s.UpsertReview(ctx, r); err != nil {
				t.Fatal(err)
			}
			score2 := 9
			if err := s.UpsertReview(ctx, &assignments.Review{AttemptID: att.ID, ReviewerID: mgr.ID, Notes: "better", RubricScore: &score2, CreatedAt: now, UpdatedAt: now.Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
			rs, err := s.ReviewsByAttempt(ctx, att.ID)
			if err != nil || len(rs) != 1 || rs[0].Notes != "better" || *rs[0].RubricScore != 9 {
				t.Fatalf("reviews %+v %v", rs, err)
			}

			job, err := s.EnqueueJob(ctx, att.ID, attempts.ReasonSubmit)
			if err != nil {
				t.Fatal(err)
			}
			leased, err := s.LeaseJob(ctx, "w", now, time.Minute)
			if err != nil || leased.ID != job.ID {
				t.Fatalf("lease %v %v", leased, err)
			}
			run := &attempts.CheckRun{AttemptID: att.ID, Score: 50, MaxScore: 100, StartedAt: now, FinishedAt: now,
				Results: []attempts.CheckResult{{CheckID: "port", Title: "p", Passed: true, Points: 50, MaxPoints: 50}}}
			if err := s.FinishJob(ctx, job.ID, "w", run); err != nil {
				t.Fatal(err)
			}
			runs, err := s.CheckRunsByAttempt(ctx, att.ID)
			if err != nil || len(runs) != 1 || len(runs[0].Results) != 1 {
				t.Fatalf("runs %+v %v", runs, err)
			}
			if err := s.Audit(ctx, &audit.Event{ActorID: mgr.ID, Action: "invite.create", ObjectType: "invite", ObjectID: inv.ID}); err != nil {
				t.Fatal(err)
			}
			if es, err := s.AuditByObject(ctx, "invite", inv.ID); err != nil || len(es) != 1 {
				t.Fatalf("audit %v %v", es, err)
			}
		})
	}
}

func TestWebhookDeliveryLeases(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, dialect)
			ctx := context.Background()
			now := time.Now().UTC()
			due := &assignments.WebhookDelivery{Event: "invite.opened", URL: "http://127.0.0.1:1/", Payload: "{}", NextAttemptAt: now.Add(-time.Second), CreatedAt: now}
			later := &assignments.WebhookDelivery{Event: "assignment.graded", URL: "http://127.0.0.1:1/", Payload: "{}", NextAttemptAt: now.Add(time.Hour), CreatedAt: now}
			for _, d := range []*assignments.WebhookDelivery{due, later} {
				if err := s.EnqueueDelivery(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.LeaseDeliveries(ctx, now, time.Minute, 10)
			if err != nil || len(got) != 1 || got[0].ID != due.ID {
				t.Fatalf("leased %v %v", got, err)
			}
			if again, _ := s.LeaseDeliveries(ctx, now, time.Minute, 10); len(again) != 0 {
				t.Fatalf("leased twice: %v", again)
			}
			if err := s.RecordDelivery(ctx, due.ID, assignments.DeliveryOutcome{State: assignments.DeliveryDelivered, Attempts: 1, LastStatus: 204}); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordDelivery(ctx, "missing", assignments.DeliveryOutcome{Attempts: 1}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("update missing: %v", err)
			}
			list, err := s.ListDeliveries(ctx, 10)
			if err != nil || len(list) != 2 {
				t.Fatalf("list %v %v", list, err)
			}
		})
	}
}
