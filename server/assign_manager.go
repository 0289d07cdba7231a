package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/challenges"
)

// deadlineLayout is the HTML datetime-local format; deadlines are UTC.
const deadlineLayout = "2006-01-02T15:04"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

// fmtDur prints a duration the way people read one: 1h05m, 25m10s, 40s.
func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d <= 0:
		return "0s"
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// ---- dashboard ----

type assignListItem struct {
	ID, Title, Challenges, TimeLimit, Deadline string
	Invited, Opened, Submitted                 int
}

type assignListPage struct {
	Items   []assignListItem
	IsAdmin bool
}

func (s *Server) handleAssignments(c *fiber.Ctx) error {
	list, err := s.deps.Review.Service.List(c.UserContext(), actorOf(c))
	if err != nil {
		return err
	}
	page := assignListPage{IsAdmin: sessionFrom(c).User.Role == accounts.RoleAdmin}
	for _, sm := range list {
		var titles []string
		for _, ch := range sm.Challenges {
			titles = append(titles, ch.Title)
		}
		page.Items = append(page.Items, assignListItem{ID: sm.Assignment.ID, Title: sm.Assignment.Title, Challenges: strings.Join(titles, ", "),
			TimeLimit: fmtDur(time.Duration(sm.Assignment.TimeLimitS) * time.Second), Deadline: fmtTime(sm.Assignment.DeadlineAt),
			Invited: sm.Invited, Opened: sm.Opened, Submitted: sm.Submitted})
	}
	if wantsJSON(c) {
		out := make([]fiber.Map, 0, len(list))
		for _, sm := range list {
			m := assignmentJSON(&sm.Assignment)
			m["invited"], m["opened"], m["submitted"] = sm.Invited, sm.Opened, sm.Submitted
			out = append(out, m)
		}
		return c.JSON(fiber.Map{"assignments": out})
	}
	return s.render(c, "assign_list", "Assignments", page)
}

func assignmentJSON(a *assignments.Assignment) fiber.Map {
	return fiber.Map{"id": a.ID, "title": a.Title, "challenges": a.ChallengeIDs, "time_limit_s": a.TimeLimitS,
		"deadline_at": a.DeadlineAt, "interview_mode": a.InterviewMode, "hints_allowed": a.HintsAllowed, "owner_id": a.OwnerID, "created_at": a.CreatedAt}
}

// ---- new assignment ----

type challengeOption struct {
	ID, Title, Kind, Difficulty string
	Checked                     bool
}

type assignForm struct {
	Title, TimeLimitMinutes, Deadline string
	Interview, Hints                  bool
	Challenges                        []challengeOption
	Error                             string
}

func (s *Server) assignFormPage(c *fiber.Ctx, f assignForm, chosen []string) error {
	for _, ch := range s.deps.Catalog.List(challenges.Filter{}) {
		opt := challengeOption{ID: ch.ID, Title: ch.Title, Kind: string(ch.Kind), Difficulty: string(ch.Difficulty)}
		for _, id := range chosen {
			opt.Checked = opt.Checked || id == ch.ID
		}
		f.Challenges = append(f.Challenges, opt)
	}
	return s.render(c, "assign_new", "New assignment", f)
}

func (s *Server) handleNewAssignment(c *fiber.Ctx) error {
	if s.deps.Catalog == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "the challenge catalog is not loaded")
	}
	return s.assignFormPage(c, assignForm{TimeLimitMinutes: "90", Deadline: time.Now().UTC().Add(7 * 24 * time.Hour).Format(deadlineLayout), Interview: true}, nil)
}

// parseAssignment reads the form or JSON body (readInput: the same field
// names either way; JSON may also say "challenges" and give the deadline in
// RFC 3339); the form echo is for re-showing the form with an error.
func parseAssignment(c *fiber.Ctx) (assignments.NewAssignment, assignForm, error) {
	body, err := readInput(c)
	if err != nil {
		return assignments.NewAssignment{}, assignForm{}, &assignments.ValidationError{Field: "body", Msg: "expected a form or JSON {title, challenges, time_limit_minutes, deadline, interview_mode, hints_allowed}: " + err.Error()}
	}
	f := assignForm{Title: body.Get("title"), TimeLimitMinutes: body.Get("time_limit_minutes"), Deadline: body.Get("deadline"),
		Interview: body.Has("interview_mode"), Hints: body.Has("hints_allowed")}
	ids := body.All("challenge")
	if len(ids) == 0 {
		ids = body.All("challenges")
	}
	in := assignments.NewAssignment{Title: f.Title, ChallengeIDs: ids, InterviewMode: f.Interview, HintsAllowed: f.Hints}
	mins, err := strconv.Atoi(strings.TrimSpace(f.TimeLimitMinutes))
	if err != nil {
		return in, f, &assignments.ValidationError{Field: "time_limit", Msg: fmt.Sprintf("%q is not a whole number of minutes", f.TimeLimitMinutes)}
	}
	if in.TimeLimit, err = limitMinutes(mins); err != nil {
		return in, f, err
	}
	dl, err := time.ParseInLocation(deadlineLayout, strings.TrimSpace(f.Deadline), time.UTC)
	if err != nil {
		dl, err = time.Parse(time.RFC3339, strings.TrimSpace(f.Deadline))
	}
	if err != nil {
		return in, f, &assignments.ValidationError{Field: "deadline", Msg: fmt.Sprintf("%q is not a date and time like 2030-01-31T17:00", f.Deadline)}
	}
	in.Deadline = dl
	return in, f, nil
}

// limitMinutes turns a time limit in minutes into a duration, refusing
// values out of the assignment's bounds before multiplying (a huge count
// of minutes would overflow into an arbitrary duration).
func limitMinutes(n int) (time.Duration, error) {
	maxMin := int(assignments.MaxTimeLimit / time.Minute)
	if n < 1 || n > maxMin {
		return 0, &assignments.ValidationError{Field: "time_limit", Msg: fmt.Sprintf("%d minutes is out of range: give 1 to %d minutes (7 days)", n, maxMin)}
	}
	return time.Duration(n) * time.Minute, nil
}

func (s *Server) handleCreateAssignment(c *fiber.Ctx) error {
	in, form, err := parseAssignment(c)
	var a *assignments.Assignment
	if err == nil {
		a, err = s.deps.Review.Service.CreateAssignment(c.UserContext(), actorOf(c), in)
	}
	var ve *assignments.ValidationError
	if errors.As(err, &ve) && !wantsJSON(c) {
		form.Error = ve.Error()
		c.Status(fiber.StatusUnprocessableEntity)
		return s.assignFormPage(c, form, in.ChallengeIDs)
	}
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"assignment": assignmentJSON(a)})
	}
	return c.Redirect("/assignments/"+url.PathEscape(a.ID), fiber.StatusSeeOther)
}

// ---- one assignment ----

type candidateRow struct {
	InviteID, Name, Email, Status, Score, TimeUsed, Opened, Submitted, Expires, Rubric string
	CanRevoke, HasReport                                                               bool
}

type assignDetailPage struct {
	ID, Title, Challenges, TimeLimit, Deadline string
	Interview, Hints                           bool
	Candidates                                 []candidateRow
	// NewLink is the invite link just created: shown once, never stored.
	NewLink, NewLinkName, NewLinkExpires string
	InviteName, InviteEmail, Error       string
}

func (s *Server) detailPage(d *assignments.Detail) assignDetailPage {
	a := d.Assignment
	var titles []string
	for _, ch := range d.Challenges {
		titles = append(titles, ch.Title)
	}
	p := assignDetailPage{ID: a.ID, Title: a.Title, Challenges: strings.Join(titles, ", "), TimeLimit: fmtDur(time.Duration(a.TimeLimitS) * time.Second),
		Deadline: fmtTime(a.DeadlineAt), Interview: a.InterviewMode, Hints: a.HintsAllowed}
	for _, cd := range d.Candidates {
		row := candidateRow{InviteID: cd.Invite.ID, Name: cd.Invite.Name, Email: cd.Invite.Email, Status: cd.Status, Rubric: cd.Rubric,
			Expires: fmtTime(cd.Invite.ExpiresAt), CanRevoke: cd.Invite.State == assignments.InvitePending, HasReport: cd.Claim != nil}
		if cd.Scored {
			row.Score = fmt.Sprintf("%d/%d", cd.Score, cd.MaxScore)
		}
		if cd.Claim != nil {
			row.TimeUsed = fmtDur(cd.TimeUsed)
			row.Opened = fmtTime(cd.Claim.OpenedAt)
			row.Submitted = fmtTimePtr(cd.Claim.SubmitRequestedAt)
		}
		p.Candidates = append(p.Candidates, row)
	}
	return p
}

func candidatesJSON(d *assignments.Detail) []fiber.Map {
	out := make([]fiber.Map, 0, len(d.Candidates))
	for _, cd := range d.Candidates {
		m := fiber.Map{"invite_id": cd.Invite.ID, "name": cd.Invite.Name, "email": cd.Invite.Email, "status": cd.Status, "invite_state": cd.Invite.State,
			"expires_at": cd.Invite.ExpiresAt, "score": nil, "max_score": nil, "rubric_score": cd.Rubric}
		if cd.Scored {
			m["score"], m["max_score"] = cd.Score, cd.MaxScore
		}
		if cd.Claim != nil {
			m["opened_at"], m["deadline_at"], m["submitted_at"], m["automatic"] = cd.Claim.OpenedAt, cd.Claim.DeadlineAt, cd.Claim.SubmitRequestedAt, cd.Claim.Automatic
			m["time_used_s"] = int(cd.TimeUsed / time.Second)
		}
		out = append(out, m)
	}
	return out
}

func (s *Server) handleAssignment(c *fiber.Ctx) error {
	d, err := s.deps.Review.Service.Assignment(c.UserContext(), actorOf(c), c.Params("id"))
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"assignment": assignmentJSON(&d.Assignment), "candidates": candidatesJSON(d)})
	}
	return s.render(c, "assign_detail", d.Assignment.Title, s.detailPage(d))
}

func (s *Server) inviteURL(path string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + path
}

// inviteInput is the JSON body of POST /api/v1/assignments/:id/invites.
type inviteInput struct {
	Name          string `json:"name"`
	Email         string `json:"email"`
	ExpiresInDays int    `json:"expires_in_days"`
}

func parseInvite(c *fiber.Ctx) (assignments.NewInvite, error) {
	var in inviteInput
	body, err := readInput(c)
	if err != nil {
		return assignments.NewInvite{}, &assignments.ValidationError{Field: "body", Msg: "expected a form or JSON {name, email, expires_in_days}: " + err.Error()}
	}
	in.Name, in.Email = body.Get("name"), body.Get("email")
	if v := strings.TrimSpace(body.Get("expires_in_days")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return assignments.NewInvite{Name: in.Name, Email: in.Email}, &assignments.ValidationError{Field: "expires_in_days", Msg: fmt.Sprintf("%q is not a whole number of days", v)}
		}
		in.ExpiresInDays = n
	}
	if in.ExpiresInDays < 0 || in.ExpiresInDays > 90 {
		return assignments.NewInvite{Name: in.Name, Email: in.Email}, &assignments.ValidationError{Field: "expires_in_days", Msg: "must be between 1 and 90 days"}
	}
	return assignments.NewInvite{Name: in.Name, Email: in.Email, TTL: time.Duration(in.ExpiresInDays) * 24 * time.Hour}, nil
}

func (s *Server) handleCreateInvite(c *fiber.Ctx) error {
	svc := s.deps.Review.Service
	in, err := parseInvite(c)
	var link *assignments.InviteLink
	if err == nil {
		link, err = svc.Invite(c.UserContext(), actorOf(c), c.Params("id"), in)
	}
	if wantsJSON(c) {
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"invite": fiber.Map{"id": link.Invite.ID, "name": link.Invite.Name, "email": link.Invite.Email,
			"expires_at": link.Invite.ExpiresAt}, "url": s.inviteURL(link.Path)})
	}
	var ve *assignments.ValidationError
	if err != nil && !errors.As(err, &ve) && !errors.Is(err, assignments.ErrAssignmentClosed) {
		return err
	}
	d, derr := svc.Assignment(c.UserContext(), actorOf(c), c.Params("id"))
	if derr != nil {
		return derr
	}
	page := s.detailPage(d)
	if err != nil {
		page.Error, page.InviteName, page.InviteEmail = err.Error(), in.Name, in.Email
		c.Status(fiber.StatusUnprocessableEntity)
	} else {
		// Rendered, not redirected: the token exists only in this answer.
		page.NewLink, page.NewLinkName, page.NewLinkExpires = s.inviteURL(link.Path), link.Invite.Name, fmtTime(link.Invite.ExpiresAt)
		c.Status(fiber.StatusCreated)
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return s.render(c, "assign_detail", d.Assignment.Title, page)
}

func (s *Server) handleRevokeInvite(c *fiber.Ctx) error {
	if err := s.deps.Review.Service.RevokeInvite(c.UserContext(), actorOf(c), c.Params("id"), c.Params("invite")); err != nil {
		return err
	}
	return c.Redirect("/assignments/"+url.PathEscape(c.Params("id")), fiber.StatusSeeOther)
}

func (s *Server) handleScoresCSV(c *fiber.Ctx) error {
	var buf bytes.Buffer
	if err := s.deps.Review.Service.WriteCSV(c.UserContext(), actorOf(c), c.Params("id"), &buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Attachment("assignment-" + c.Params("id") + "-scores.csv")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(buf.Bytes())
}

// ---- webhook delivery log (admins) ----

type deliveryRow struct {
	ID, Event, URL, State, Created, Next, Delivered, LastError string
	Attempts, LastStatus                                       int
}

type webhookLogPage struct {
	Enabled bool
	Rows    []deliveryRow
}

func (s *Server) handleWebhookLog(c *fiber.Ctx) error {
	svc := s.deps.Review.Service
	ds, err := svc.Deliveries(c.UserContext(), 200)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		out := make([]fiber.Map, 0, len(ds))
		for _, d := range ds {
			out = append(out, fiber.Map{"id": d.ID, "event": d.Event, "url": d.URL, "state": d.State, "attempts": d.Attempts, "last_status": d.LastStatus,
				"last_error": d.LastError, "created_at": d.CreatedAt, "next_attempt_at": d.NextAttemptAt, "delivered_at": d.DeliveredAt})
		}
		return c.JSON(fiber.Map{"enabled": svc.WebhooksEnabled(), "deliveries": out})
	}
	p := webhookLogPage{Enabled: svc.WebhooksEnabled()}
	for _, d := range ds {
		row := deliveryRow{ID: d.ID, Event: d.Event, URL: d.URL, State: string(d.State), Created: fmtTime(d.CreatedAt), Delivered: fmtTimePtr(d.DeliveredAt),
			LastError: d.LastError, Attempts: d.Attempts, LastStatus: d.LastStatus}
		if d.State == assignments.DeliveryPending {
			row.Next = fmtTime(d.NextAttemptAt)
		}
		p.Rows = append(p.Rows, row)
	}
	return s.render(c, "review_webhooks", "Webhook deliveries", p)
}
