package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/attempts"
)

// defaultTerminalAuthz fills the terminal hooks from the attempts service
// when the caller did not set them: a terminal is opened only by the
// logged-in owner of an active attempt; a recording is replayed by whoever
// may review the attempt (mayReview).
func (s *Server) defaultTerminalAuthz() {
	if s.deps.Attempts == nil {
		return
	}
	td := &s.deps.Terminal
	if td.AuthorizeTerminal == nil {
		td.AuthorizeTerminal = func(c *fiber.Ctx, attemptID string) (string, string, error) {
			sess := sessionFrom(c)
			if sess == nil {
				return "", "", fiber.NewError(fiber.StatusUnauthorized, "log in first")
			}
			a, err := s.deps.Attempts.Get(c.UserContext(), attemptID, sess.User.ID)
			if err != nil {
				return "", "", err
			}
			if acc := accessOf(sess); !acc.AllowsAttempt(a) { // an invite session: its own take-home only
				return "", "", fiber.NewError(fiber.StatusNotFound, "not found: attempt "+attemptID)
			}
			if a.State != attempts.StateActive || a.SandboxID == "" {
				return "", "", fiber.NewError(fiber.StatusGone, "this attempt is over; its sandbox is gone")
			}
			if a.DeadlineAt != nil && !time.Now().Before(*a.DeadlineAt) { // submitted (deadline set to then) or time up
				return "", "", fiber.NewError(fiber.StatusConflict, "this take-home was submitted or its time is up: its terminals are closed")
			}
			// A page left open while the sandbox hibernated: restore it (as
			// the workspace does) so the terminal reaches the new container.
			s.resume(c, a)
			return sess.User.ID, a.SandboxID, nil
		}
	}
	if td.AuthorizeReplay == nil {
		td.AuthorizeReplay = func(c *fiber.Ctx, attemptID string) error {
			a, err := s.deps.Attempts.Get(c.UserContext(), attemptID, "")
			if err != nil {
				return err
			}
			if sess := sessionFrom(c); sess != nil && a.UserID != nil && *a.UserID == sess.User.ID {
				if acc := accessOf(sess); !acc.AllowsAttempt(a) { // an invite session: its own take-home only
					return fiber.NewError(fiber.StatusNotFound, "not found: attempt "+a.ID)
				}
			}
			return s.mayReview(c, a)
		}
	}
}

// pushCheck sends a check result to every open terminal of the attempt.
func (s *Server) pushCheck(attemptID string, result any) {
	if s.deps.Terminal.Hub == nil {
		return
	}
	if _, err := s.deps.Terminal.Hub.Broadcast(attemptID, map[string]any{"type": "check", "result": result}); err != nil {
		s.log.Debug("push check result", "attempt", attemptID, "err", err)
	}
}

// closeTerminals ends the terminals of a sandbox that is going away.
func (s *Server) closeTerminals(c *fiber.Ctx, sandboxID, reason string) {
	if s.deps.Terminal.Hub == nil || sandboxID == "" {
		return
	}
	s.deps.Terminal.Hub.CloseSandbox(c.UserContext(), sandboxID, reason)
}
