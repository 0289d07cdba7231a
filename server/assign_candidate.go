package server

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
)

// openTimeout bounds opening an invite (it starts the sandboxes).
const openTimeout = 3 * time.Minute

// inviteErrorPage explains why an invite link does not work.
type inviteErrorPage struct {
	Status  int
	Heading string
	Message string
}

// inviteError renders invite and take-home refusals as a page that says
// what happened (JSON for the API).
func (s *Server) inviteError(c *fiber.Ctx, err error) error {
	status, msg := httpStatus(err)
	if wantsJSON(c) || status >= 500 {
		return err
	}
	heading := "This invite link cannot be used"
	switch {
	case errors.Is(err, assignments.ErrDeadlinePassed):
		heading = "Time is up"
	case errors.Is(err, assignments.ErrAlreadySubmitted):
		heading = "Already submitted"
	case errors.Is(err, assignments.ErrNotFound):
		heading = "Not found"
	}
	c.Status(status)
	return s.render(c, "invite_error", heading, inviteErrorPage{Status: status, Heading: heading, Message: msg})
}

func currentUser(c *fiber.Ctx) *accounts.User {
	if sess := sessionFrom(c); sess != nil {
		return sess.User
	}
	return nil
}

type inviteLandingPage struct {
	Token, Name, Email, Title, TimeLimit, Deadline, Expires string
	Challenges                                              []assignments.ChallengeRef
	Interview, Hints                                        bool
	// SignedInAs is set when someone else is logged in in this browser.
	SignedInAs string
}

func (s *Server) handleInviteLanding(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	land, reopened, err := s.deps.Review.Service.Landing(c.UserContext(), c.Params("token"), sessionAccess(c))
	if err != nil {
		return s.inviteError(c, err)
	}
	if reopened {
		return c.Redirect("/take/"+url.PathEscape(land.Invite.ID), fiber.StatusSeeOther)
	}
	a := land.Assignment
	p := inviteLandingPage{Token: c.Params("token"), Name: land.Invite.Name, Email: land.Invite.Email, Title: a.Title, TimeLimit: fmtDur(land.TimeLimit),
		Deadline: fmtTime(a.DeadlineAt), Expires: fmtTime(land.Invite.ExpiresAt), Challenges: land.Challenges, Interview: a.InterviewMode, Hints: a.HintsAllowed}
	if u := currentUser(c); u != nil && u.Email != land.Invite.Email {
		p.SignedInAs = u.Email
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"invite": fiber.Map{"name": p.Name, "email": p.Email, "expires_at": land.Invite.ExpiresAt},
			"assignment": fiber.Map{"title": a.Title, "time_limit_s": a.TimeLimitS, "deadline_at": a.DeadlineAt, "challenges": land.Challenges}})
	}
	return s.render(c, "invite_landing", a.Title, p)
}

func (s *Server) handleInviteOpen(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), openTimeout)
	defer cancel()
	o, err := s.deps.Review.Service.Open(ctx, assignments.OpenRequest{Token: c.Params("token"), Session: sessionAccess(c), IP: c.IP(), UserAgent: c.Get(fiber.HeaderUserAgent)})
	if errors.Is(err, assignments.ErrLoginRequired) && !wantsJSON(c) {
		return c.Redirect("/login?next="+url.QueryEscape("/invite/"+c.Params("token")), fiber.StatusSeeOther)
	}
	if err != nil {
		return s.inviteError(c, err)
	}
	if o.SessionToken != "" {
		if old := c.Cookies(sessionCookie); old != "" {
			_ = s.deps.Accounts.Logout(c.UserContext(), old) // rotate: another user's session ends here
		}
		s.setSessionCookie(c, o.SessionToken, o.SessionExpires)
	}
	if wantsJSON(c) {
		m := fiber.Map{"invite_id": o.InviteID, "take_url": "/take/" + o.InviteID}
		if o.StartErr != nil {
			m["start_error"] = o.StartErr.Error()
		}
		return c.Status(fiber.StatusCreated).JSON(m)
	}
	return c.Redirect("/take/"+url.PathEscape(o.InviteID), fiber.StatusSeeOther)
}

// ---- the candidate's take-home page ----

type takeItem struct {
	ID, Title, AttemptID, State, Score string
}

type takePage struct {
	InviteID, Title, Name, Deadline, DeadlineISO, Opened, SubmittedAt string
	Items                                                             []takeItem
	Open, Submitted, Frozen, Automatic, Missing                       bool
	Interview, Hints                                                  bool
}

func takeView(t *assignments.Take) takePage {
	p := takePage{InviteID: t.Invite.ID, Title: t.Assignment.Title, Name: t.Invite.Name, Deadline: fmtTime(t.Claim.DeadlineAt),
		DeadlineISO: t.Claim.DeadlineAt.UTC().Format(time.RFC3339), Opened: fmtTime(t.Claim.OpenedAt), SubmittedAt: fmtTimePtr(t.Claim.SubmitRequestedAt),
		Open: t.Open, Submitted: t.Submitted, Frozen: t.Frozen, Automatic: t.Claim.Automatic, Interview: t.Assignment.InterviewMode, Hints: t.Assignment.HintsAllowed}
	for _, it := range t.Items {
		ti := takeItem{ID: it.ID, Title: it.Title}
		if it.Attempt != nil {
			ti.AttemptID, ti.State = it.Attempt.ID, string(it.Attempt.State)
		} else {
			p.Missing = true
		}
		p.Items = append(p.Items, ti)
	}
	return p
}

func (s *Server) handleTakes(c *fiber.Ctx) error {
	cs, err := s.deps.Review.Service.TakesOf(c.UserContext(), accessOf(sessionFrom(c)))
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return fiber.NewError(fiber.StatusNotFound, "you have no take-home assignments; open the invite link you were sent")
	}
	return c.Redirect("/take/"+url.PathEscape(cs[0].InviteID), fiber.StatusSeeOther)
}

func (s *Server) handleTake(c *fiber.Ctx) error {
	t, err := s.deps.Review.Service.Take(c.UserContext(), accessOf(sessionFrom(c)), c.Params("invite"))
	if err != nil {
		return s.inviteError(c, err)
	}
	if wantsJSON(c) {
		items := make([]fiber.Map, 0, len(t.Items))
		for _, it := range t.Items {
			m := fiber.Map{"challenge": it.ID, "title": it.Title, "attempt_id": nil}
			if it.Attempt != nil {
				m["attempt_id"], m["state"] = it.Attempt.ID, it.Attempt.State
			}
			items = append(items, m)
		}
		return c.JSON(fiber.Map{"invite_id": t.Invite.ID, "title": t.Assignment.Title, "deadline_at": t.Claim.DeadlineAt, "open": t.Open,
			"submitted": t.Submitted, "frozen": t.Frozen, "automatic": t.Claim.Automatic, "challenges": items})
	}
	return s.render(c, "assign_take", t.Assignment.Title, takeView(t))
}

func (s *Server) handleTakeStart(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), openTimeout)
	defer cancel()
	if err := s.deps.Review.Service.StartMissing(ctx, accessOf(sessionFrom(c)), c.Params("invite")); err != nil {
		return s.inviteError(c, err)
	}
	return c.Redirect("/take/"+url.PathEscape(c.Params("invite")), fiber.StatusSeeOther)
}

func (s *Server) handleTakeSubmit(c *fiber.Ctx) error {
	if err := s.deps.Review.Service.SubmitAs(c.UserContext(), accessOf(sessionFrom(c)), c.Params("invite")); err != nil {
		return s.inviteError(c, err)
	}
	if wantsJSON(c) {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"submitted": true, "detail": "your work is being graded and frozen; this takes a moment"})
	}
	return c.Redirect("/take/"+url.PathEscape(c.Params("invite")), fiber.StatusSeeOther)
}
