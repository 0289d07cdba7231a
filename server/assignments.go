package server

import (
	"context"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
)

// AssignmentService is the assignments domain as the routes use it
// (implemented by *assignments.Service).
type AssignmentService interface {
	CreateAssignment(ctx context.Context, actor assignments.Actor, in assignments.NewAssignment) (*assignments.Assignment, error)
	List(ctx context.Context, actor assignments.Actor) ([]assignments.Summary, error)
	Assignment(ctx context.Context, actor assignments.Actor, id string) (*assignments.Detail, error)
	Invite(ctx context.Context, actor assignments.Actor, assignmentID string, in assignments.NewInvite) (*assignments.InviteLink, error)
	RevokeInvite(ctx context.Context, actor assignments.Actor, assignmentID, inviteID string) error
	Landing(ctx context.Context, token string, session *assignments.Access) (*assignments.Landing, bool, error)
	Open(ctx context.Context, req assignments.OpenRequest) (*assignments.Opened, error)
	Take(ctx context.Context, session assignments.Access, inviteID string) (*assignments.Take, error)
	TakesOf(ctx context.Context, session assignments.Access) ([]assignments.InviteClaim, error)
	StartMissing(ctx context.Context, session assignments.Access, inviteID string) error
	SubmitAs(ctx context.Context, session assignments.Access, inviteID string) error
	Report(ctx context.Context, actor assignments.Actor, inviteID string) (*assignments.Report, error)
	SaveReview(ctx context.Context, actor assignments.Actor, inviteID, attemptID, notes string, rubric *int) error
	WriteCSV(ctx context.Context, actor assignments.Actor, assignmentID string, w io.Writer) error
	Deliveries(ctx context.Context, limit int) ([]assignments.WebhookDelivery, error)
	WebhooksEnabled() bool
}

// ReviewDeps carries what the assignment and review routes need. With a
// nil Service no route is mounted.
type ReviewDeps struct {
	Service AssignmentService
}

// registerAssignments mounts the take-home assignment and review routes.
// What an assignment allows inside its attempts (hints, interview mode,
// deadlines) is enforced by the attempts service (attempts.Policy), not
// here.
func (s *Server) registerAssignments() {
	svc := s.deps.Review.Service
	if svc == nil {
		return
	}
	staff := s.requireRole(accounts.RoleManager) // admins always pass
	s.app.Get("/assignments", staff, s.handleAssignments)
	s.app.Get("/assignments/new", staff, s.handleNewAssignment)
	s.app.Post("/assignments", staff, s.handleCreateAssignment)
	s.app.Get("/assignments/:id", staff, s.handleAssignment)
	s.app.Post("/assignments/:id/invites", staff, s.handleCreateInvite)
	s.app.Post("/assignments/:id/invites/:invite/revoke", staff, s.handleRevokeInvite)
	s.app.Get("/assignments/:id/scores.csv", staff, s.handleScoresCSV)
	s.app.Get("/review/:invite", staff, s.handleReport)
	s.app.Post("/review/:invite/attempts/:attempt", staff, s.handleSaveReview)
	s.app.Get("/admin/webhooks", s.requireRole(accounts.RoleAdmin), s.handleWebhookLog)

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
	api.Get("/webhooks/deliveries", s.requireRole(accounts.RoleAdmin), s.handleWebhookLog)
	api.Get("/take/:invite", s.requireRole(), s.handleTake)
	api.Post("/take/:invite/submit", s.requireRole(), s.handleTakeSubmit)
}

// actorOf is the logged-in user as the assignments domain sees them.
func actorOf(c *fiber.Ctx) assignments.Actor {
	u := sessionFrom(c).User
	return assignments.Actor{ID: u.ID, Role: u.Role}
}
