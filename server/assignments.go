package server

import (
	"context"
	"errors"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/store"
)

// AssignmentService is the assignments domain as the routes use it
// (implemented by *assignments.Service).
type AssignmentService interface {
	CreateAssignment(ctx context.Context, actor assignments.Actor, in assignments.NewAssignment) (*store.Assignment, error)
	List(ctx context.Context, actor assignments.Actor) ([]assignments.Summary, error)
	Assignment(ctx context.Context, actor assignments.Actor, id string) (*assignments.Detail, error)
	Invite(ctx context.Context, actor assignments.Actor, assignmentID string, in assignments.NewInvite) (*assignments.InviteLink, error)
	RevokeInvite(ctx context.Context, actor assignments.Actor, assignmentID, inviteID string) error
	Landing(ctx context.Context, token string, session *assignments.Access) (*assignments.Landing, bool, error)
	Open(ctx context.Context, req assignments.OpenRequest) (*assignments.Opened, error)
	Take(ctx context.Context, session assignments.Access, inviteID string) (*assignments.Take, error)
	TakesOf(ctx context.Context, session assignments.Access) ([]store.InviteClaim, error)
	StartMissing(ctx context.Context, session assignments.Access, inviteID string) error
	SubmitAs(ctx context.Context, session assignments.Access, inviteID string) error
	Report(ctx context.Context, actor assignments.Actor, inviteID string) (*assignments.Report, error)
	SaveReview(ctx context.Context, actor assignments.Actor, inviteID, attemptID, notes string, rubric *int) error
	WriteCSV(ctx context.Context, actor assignments.Actor, assignmentID string, w io.Writer) error
	Deliveries(ctx context.Context, limit int) ([]store.WebhookDelivery, error)
	WebhooksEnabled() bool
	PolicyFor(ctx context.Context, a *store.Attempt) (assignments.Policy, error)
}

// ReviewDeps carries what the assignment and review routes need. With a
// nil Service no route is mounted.
type ReviewDeps struct {
	Service AssignmentService
}

// registerAssignments mounts the take-home assignment and review routes,
// and puts the assignment policy (hints allowed, interview mode) in front
// of the attempt routes: those handlers read s.deps.Attempts and
// s.deps.Runs at request time, so wrapping them here, before serving,
// makes the workspace obey the assignment without changing it.
func (s *Server) registerAssignments() {
	svc := s.deps.Review.Service
	if svc == nil {
		return
	}
	if s.deps.Attempts != nil {
		s.deps.Attempts = &policyAttempts{Attempts: s.deps.Attempts, policy: svc}
		if s.deps.Runs != nil {
			s.deps.Runs = &policyRuns{Runs: s.deps.Runs, attempts: s.deps.Attempts, policy: svc}
		}
	}
	staff := s.requireRole(store.RoleManager) // admins always pass
	s.app.Get("/assignments", staff, s.handleAssignments)
	s.app.Get("/assignments/new", staff, s.handleNewAssignment)
	s.app.Post("/assignments", staff, s.handleCreateAssignment)
	s.app.Get("/assignments/:id", staff, s.handleAssignment)
	s.app.Post("/assignments/:id/invites", staff, s.handleCreateInvite)
	s.app.Post("/assignments/:id/invites/:invite/revoke", staff, s.handleRevokeInvite)
	s.app.Get("/assignments/:id/scores.csv", staff, s.handleScoresCSV)
	s.app.Get("/review/:invite", staff, s.handleReport)
	s.app.Post("/review/:invite/attempts/:attempt", staff, s.handleSaveReview)
	s.app.Get("/admin/webhooks", s.requireRole(store.RoleAdmin), s.handleWebhookLog)

	s.app.Get("/invite/:token", s.handleInviteLanding)
	s.app.Post("/invite/:token", s.handleInviteOpen)
	s.app.Get("/take", s.requireRole(), s.handleTakes)
	s.app.Get("/take/:invite", s.requireRole(), s.handleTake)
	s.app.Post("/take/:invite/start", s.requireRole(), s.handleTakeStart)
	s.app.Post("/take/:invite/submit", s.requireRole(), s.handleTakeSubmit)

	api := s.app.Group("/api/v1")
	api.Get("/assignments", staff, s.handleAssignments)
	api.Post("/assignments", staff, s.handleCreateAssignment)
	api.Get("/assignments/:id", staff, s.handleAssignment)
	api.Post("/assignments/:id/invites", staff, s.handleCreateInvite)
	api.Get("/assignments/:id/scores.csv", staff, s.handleScoresCSV)
	api.Get("/review/:invite", staff, s.handleReport)
	api.Post("/review/:invite/attempts/:attempt", staff, s.handleSaveReview)
	api.Get("/webhooks/deliveries", s.requireRole(store.RoleAdmin), s.handleWebhookLog)
	api.Get("/take/:invite", s.requireRole(), s.handleTake)
	api.Post("/take/:invite/submit", s.requireRole(), s.handleTakeSubmit)
}

// actorOf is the logged-in user as the assignments domain sees them.
func actorOf(c *fiber.Ctx) assignments.Actor {
	u := sessionFrom(c).User
	return assignments.Actor{ID: u.ID, Role: u.Role}
}

// assignError maps assignment errors to HTTP answers in one place; what
// it does not know goes on to domainError (sandboxes, attempts).
func assignError(err error) error {
	var ve *assignments.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return fiber.NewError(fiber.StatusUnprocessableEntity, ve.Error())
	case errors.Is(err, assignments.ErrNotFound):
		return fiber.NewError(fiber.StatusNotFound, "not found: "+err.Error())
	case errors.Is(err, assignments.ErrInviteUnknown):
		return fiber.NewError(fiber.StatusNotFound, assignments.ErrInviteUnknown.Error())
	case errors.Is(err, assignments.ErrInviteUsed), errors.Is(err, assignments.ErrInviteExpired),
		errors.Is(err, assignments.ErrInviteRevoked), errors.Is(err, assignments.ErrAssignmentClosed):
		return fiber.NewError(fiber.StatusGone, err.Error())
	case errors.Is(err, assignments.ErrDeadlinePassed), errors.Is(err, assignments.ErrAlreadySubmitted),
		errors.Is(err, assignments.ErrNotStartable), errors.Is(err, assignments.ErrStaffEmail), errors.Is(err, assignments.ErrLoginRequired):
		return fiber.NewError(fiber.StatusConflict, err.Error())
	case errors.Is(err, assignments.ErrHintsDisabled):
		return fiber.NewError(fiber.StatusForbidden, err.Error())
	}
	return domainError(err)
}
