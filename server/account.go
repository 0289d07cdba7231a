package server

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
)

// registerAccount adds the routes of the logged-in user's own account:
// password change and "sign out everywhere".
func (s *Server) registerAccount() {
	s.app.Get("/me/password", s.requireRole(), s.handlePasswordPage)
	s.app.Post("/me/password", s.requireRole(), s.handlePasswordChange)
	s.app.Post("/logout-all", s.requireRole(), s.handleLogoutAll)
	s.app.Post("/api/v1/me/password", s.requireRole(), s.handlePasswordChange)
	s.app.Post("/api/v1/logout-all", s.requireRole(), s.handleLogoutAll)
}

// retryRefusal answers the refusals that may pass later: too many failed
// logins (429) and every password-hashing slot busy (503), each with
// Retry-After in whole seconds (statuses from the one table). ok is false
// for any other error.
func retryRefusal(c *fiber.Ctx, err error) (status int, msg string, ok bool) {
	var re *accounts.RetryError
	if !errors.As(err, &re) {
		return 0, "", false
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(re.After.Seconds())))))
	status, msg = httpStatus(re) // the refusal's own words, not the operation's
	return status, msg, true
}

type passwordForm struct {
	Email, Error, Message string
}

func (s *Server) handlePasswordPage(c *fiber.Ctx) error {
	return s.render(c, "password", "Your password", passwordForm{Email: sessionFrom(c).User.Email})
}

// passwordInput is the body of a password change, form or JSON; never the
// query string (a password in a URL ends up in logs and history).
type passwordInput struct {
	Current string `json:"current_password" form:"current_password"`
	New     string `json:"new_password" form:"new_password"`
}

func (s *Server) handlePasswordChange(c *fiber.Ctx) error {
	sess := sessionFrom(c)
	body, err := readInput(c)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "expected a form or JSON body with current_password and new_password: "+err.Error())
	}
	in := passwordInput{Current: body.Get("current_password"), New: body.Get("new_password")}
	revoked, err := s.deps.Accounts.ChangePassword(c.UserContext(), sess, in.Current, in.New, c.IP())
	if err != nil {
		status, msg, ok := retryRefusal(c, err)
		if !ok {
			status, msg = httpStatus(err) // 422 invalid, 403 wrong password, 401 no session
		}
		if status == fiber.StatusInternalServerError {
			return err
		}
		if wantsJSON(c) {
			return fiber.NewError(status, msg)
		}
		c.Status(status)
		return s.render(c, "password", "Your password", passwordForm{Email: sess.User.Email, Error: msg})
	}
	if revoked > 0 {
		// Terminals opened by the revoked sessions end; this session's
		// reconnect with a new ticket.
		s.hijack.CloseUser(sess.User.ID, signedOutReason)
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"ok": true, "sessions_revoked": revoked})
	}
	msg := "Password changed."
	switch revoked {
	case 0:
	case 1:
		msg += " Your other session was signed out."
	default:
		msg += fmt.Sprintf(" Your %d other sessions were signed out.", revoked)
	}
	return s.render(c, "password", "Your password", passwordForm{Email: sess.User.Email, Message: msg})
}

// signedOutReason closes the terminals of a user whose sessions were
// revoked (sign out everywhere, password change).
const signedOutReason = "signed out: the account's sessions were ended"

// handleLogoutAll ends every session of the user, this one included, and
// every terminal they had open.
func (s *Server) handleLogoutAll(c *fiber.Ctx) error {
	sess := sessionFrom(c)
	revoked, err := s.deps.Accounts.LogoutAll(c.UserContext(), sess)
	if err != nil {
		return err
	}
	// A revoked session must not keep a shell it opened: its terminals end
	// now, and reconnecting needs a ticket, which needs a valid session.
	s.hijack.CloseUser(sess.User.ID, signedOutReason)
	s.clearSessionCookie(c)
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"ok": true, "sessions_revoked": revoked})
	}
	return c.Redirect("/login", fiber.StatusSeeOther)
}
