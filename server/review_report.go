package server

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/assignments"
)

// maxOutputExcerpt bounds a check's output shown in the report.
const maxOutputExcerpt = 2000

type reportCheck struct {
	Title, Message, Output, Points string
	Passed, TimedOut               bool
}

type diffLine struct {
	Class, Text string
}

type reportFile struct {
	Path, Kind, Size, Skipped, Content string
	Editable                           bool
}

type reportRecording struct {
	ID, Terminal, Started, Duration, URL, Error string
}

type reportReview struct {
	Reviewer, Notes, Rubric, Updated string
}

type reportChallenge struct {
	AttemptID, Title, State, Score, GradedAt string
	HintCost                                 int
	Checks                                   []reportCheck
	Diff                                     []diffLine
	Files                                    []reportFile
	Recordings                               []reportRecording
	Reviews                                  []reportReview
	MyNotes, MyRubric                        string
	Submitted, Automatic, NoCommands         bool
}

type reportEvent struct {
	Offset, At, Kind, Text string
}

type reportPage struct {
	InviteID, AssignmentID, AssignmentTitle, Name, Email, Status   string
	Score, Rubric, TimeUsed, Opened, Deadline, Submitted, Problems string
	Started                                                        bool
	Challenges                                                     []reportChallenge
	Timeline                                                       []reportEvent
	Saved                                                          bool
}

func fmtOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, h, m, sec)
	}
	return fmt.Sprintf("%s%02d:%02d", sign, m, sec)
}

func diffLines(diff string) []diffLine {
	if diff == "" {
		return nil
	}
	var out []diffLine
	for _, l := range strings.Split(strings.TrimSuffix(diff, "\n"), "\n") {
		cls := "ctx"
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			cls = "meta"
		case strings.HasPrefix(l, "@@"):
			cls = "hunk"
		case strings.HasPrefix(l, "+"):
			cls = "add"
		case strings.HasPrefix(l, "-"):
			cls = "del"
		}
		out = append(out, diffLine{Class: cls, Text: l})
	}
	return out
}

func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… (cut)"
}

func (s *Server) reportView(r *assignments.Report, me string) reportPage {
	cd := r.Candidate
	p := reportPage{InviteID: r.Invite.ID, AssignmentID: r.Assignment.ID, AssignmentTitle: r.Assignment.Title, Name: r.Invite.Name, Email: r.Invite.Email,
		Status: cd.Status, Rubric: cd.Rubric, Started: r.Claim != nil}
	if cd.Scored {
		p.Score = fmt.Sprintf("%d/%d", cd.Score, cd.MaxScore)
	}
	if r.Claim != nil {
		p.TimeUsed, p.Opened, p.Deadline = fmtDur(cd.TimeUsed), fmtTime(r.Claim.OpenedAt), fmtTime(r.Claim.DeadlineAt)
		p.Submitted, p.Problems = fmtTimePtr(r.Claim.SubmitRequestedAt), r.Claim.Error
	}
	for _, ch := range r.Challenges {
		rc := reportChallenge{AttemptID: ch.Attempt.ID, Title: ch.Title, State: string(ch.Attempt.State), HintCost: ch.HintCost,
			Score: fmt.Sprintf("%d/%d", ch.Attempt.Score, ch.Attempt.MaxScore), Diff: diffLines(ch.Diff), NoCommands: !ch.Commands}
		if ch.Final != nil {
			rc.GradedAt = fmtTime(ch.Final.FinishedAt)
			for _, res := range ch.Final.Results {
				rc.Checks = append(rc.Checks, reportCheck{Title: res.Title, Message: res.Message, Output: excerpt(res.Output, maxOutputExcerpt),
					Points: fmt.Sprintf("%d/%d", res.Points, res.MaxPoints), Passed: res.Passed, TimedOut: res.TimedOut})
			}
		}
		if ch.Submission != nil {
			rc.Submitted, rc.Automatic = true, ch.Submission.Automatic
		}
		for _, f := range ch.Files {
			rf := reportFile{Path: f.Path, Kind: f.Kind, Skipped: f.Skipped, Editable: f.Editable, Content: f.Content()}
			if f.Size > 0 {
				rf.Size = strconv.FormatInt(f.Size, 10) + " B"
			}
			rc.Files = append(rc.Files, rf)
		}
		for _, rec := range ch.Recordings {
			rr := reportRecording{ID: rec.ID, Terminal: rec.Terminal, Started: fmtTime(rec.StartedAt), URL: "/recordings/" + url.PathEscape(rec.ID), Error: rec.Error}
			if rec.EndedAt != nil {
				rr.Duration = fmtDur(rec.EndedAt.Sub(rec.StartedAt))
			}
			rc.Recordings = append(rc.Recordings, rr)
		}
		for _, rv := range ch.Reviews {
			v := reportReview{Reviewer: rv.ReviewerName, Notes: rv.Notes, Updated: fmtTime(rv.UpdatedAt)}
			if rv.RubricScore != nil {
				v.Rubric = strconv.Itoa(*rv.RubricScore)
			}
			rc.Reviews = append(rc.Reviews, v)
			if rv.ReviewerID == me {
				rc.MyNotes, rc.MyRubric = v.Notes, v.Rubric
			}
		}
		p.Challenges = append(p.Challenges, rc)
	}
	for _, ev := range r.Timeline {
		p.Timeline = append(p.Timeline, reportEvent{Offset: fmtOffset(ev.Offset), At: ev.At.UTC().Format("15:04:05"), Kind: ev.Kind, Text: ev.Text})
	}
	return p
}

func (s *Server) handleReport(c *fiber.Ctx) error {
	r, err := s.deps.Review.Service.Report(c.UserContext(), actorOf(c), c.Params("invite"))
	if err != nil {
		return err
	}
	p := s.reportView(r, sessionFrom(c).User.ID)
	if wantsJSON(c) {
		return c.JSON(p)
	}
	p.Saved = c.Query("saved") != ""
	return s.render(c, "review_report", r.Invite.Name+" · "+r.Assignment.Title, p)
}

func (s *Server) handleSaveReview(c *fiber.Ctx) error {
	in, err := readInput(c)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "expected a form or JSON {notes, rubric_score}: "+err.Error())
	}
	body := struct{ Notes, RubricScore string }{in.Get("notes"), in.Get("rubric_score")}
	var rubric *int
	if v := strings.TrimSpace(body.RubricScore); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &assignments.ValidationError{Field: "rubric_score", Msg: fmt.Sprintf("%q is not a whole number from 0 to 100", v)}
		}
		rubric = &n
	}
	if err := s.deps.Review.Service.SaveReview(c.UserContext(), actorOf(c), c.Params("invite"), c.Params("attempt"), body.Notes, rubric); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"saved": true})
	}
	return c.Redirect("/review/"+url.PathEscape(c.Params("invite"))+"?saved=1#review-"+url.PathEscape(c.Params("attempt")), fiber.StatusSeeOther)
}
