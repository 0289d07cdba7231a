package assignments

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/recording"
)

// Candidate statuses as the dashboard shows them.
const (
	StatusInvited    = "invited"
	StatusExpired    = "invite expired"
	StatusRevoked    = "revoked"
	StatusInProgress = "in progress"
	StatusSubmitting = "submitting"
	StatusSubmitted  = "submitted"
	StatusAuto       = "submitted (time up)"
)

// Summary is one assignment on the dashboard.
type Summary struct {
	Assignment Assignment
	Challenges []ChallengeRef
	Invited    int
	Opened     int
	Submitted  int
}

// List returns the assignments actor may see, with counts.
func (s *Service) List(ctx context.Context, actor Actor) ([]Summary, error) {
	owner := actor.ID
	if actor.Role == accounts.RoleAdmin {
		owner = ""
	}
	as, err := s.st.ListAssignments(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(as))
	for i := range as {
		invs, err := s.st.InvitesByAssignment(ctx, as[i].ID)
		if err != nil {
			return nil, err
		}
		sm := Summary{Assignment: as[i], Challenges: s.challengeRefs(&as[i]), Invited: len(invs)}
		for _, inv := range invs {
			switch inv.State {
			case InviteOpened:
				sm.Opened++
			case InviteSubmitted:
				sm.Opened++
				sm.Submitted++
			}
		}
		out = append(out, sm)
	}
	return out, nil
}

// Candidate is one invitee's row.
type Candidate struct {
	Invite   Invite
	Claim    *InviteClaim
	Status   string
	Score    int
	MaxScore int
	Scored   bool // a grading happened
	TimeUsed time.Duration
	// PerChallenge scores, by challenge ID ("" when not graded).
	PerChallenge map[string]string
	Rubric       string // average rubric score, "" when none
}

// Detail is an assignment with its candidates.
type Detail struct {
	Assignment Assignment
	Challenges []ChallengeRef
	Candidates []Candidate
}

// Assignment returns an assignment with its candidates' progress.
func (s *Service) Assignment(ctx context.Context, actor Actor, id string) (*Detail, error) {
	a, err := s.assignmentFor(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	invs, err := s.st.InvitesByAssignment(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	claims, err := s.st.ClaimsByInvites(ctx, ids)
	if err != nil {
		return nil, err
	}
	d := &Detail{Assignment: *a, Challenges: s.challengeRefs(a)}
	for _, inv := range invs {
		c := Candidate{Invite: inv, PerChallenge: map[string]string{}}
		if cl, ok := claims[inv.ID]; ok {
			c.Claim = &cl
		}
		c.Status, c.TimeUsed = s.status(inv, c.Claim)
		if c.Claim != nil {
			ats, err := s.st.AttemptsByInvite(ctx, inv.ID)
			if err != nil {
				return nil, err
			}
			var rubric []int
			for _, at := range ats {
				if at.State == attempts.StateAbandoned {
					continue
				}
				c.Score += at.Score
				c.MaxScore += at.MaxScore
				runs, err := s.st.CheckRunsByAttempt(ctx, at.ID)
				if err != nil {
					return nil, err
				}
				if len(runs) > 0 {
					c.Scored = true
					c.PerChallenge[at.ChallengeID] = fmt.Sprintf("%d/%d", at.Score, at.MaxScore)
				}
				rs, err := s.st.ReviewsByAttempt(ctx, at.ID)
				if err != nil {
					return nil, err
				}
				for _, r := range rs {
					if r.RubricScore != nil {
						rubric = append(rubric, *r.RubricScore)
					}
				}
			}
			if len(rubric) > 0 {
				sum := 0
				for _, r := range rubric {
					sum += r
				}
				c.Rubric = strconv.FormatFloat(float64(sum)/float64(len(rubric)), 'f', -1, 64)
			}
		}
		d.Candidates = append(d.Candidates, c)
	}
	return d, nil
}

// status names where an invitee is and how much time they used.
func (s *Service) status(inv Invite, c *InviteClaim) (string, time.Duration) {
	now := s.now()
	switch {
	case c == nil && inv.State == InviteRevoked:
		return StatusRevoked, 0
	case c == nil && (inv.State == InviteExpired || !now.Before(inv.ExpiresAt)):
		return StatusExpired, 0
	case c == nil:
		return StatusInvited, 0
	}
	end := now
	if c.SubmitRequestedAt != nil {
		end = *c.SubmitRequestedAt
	}
	if end.After(c.DeadlineAt) {
		end = c.DeadlineAt
	}
	used := end.Sub(c.OpenedAt).Round(time.Second)
	switch {
	case c.SubmitRequestedAt == nil:
		return StatusInProgress, used
	case c.FinalizedAt == nil:
		return StatusSubmitting, used
	case c.Automatic:
		return StatusAuto, used
	}
	return StatusSubmitted, used
}

// TimelineEvent is one moment of a candidate's take-home.
type TimelineEvent struct {
	At     time.Time
	Offset time.Duration // since the invite was opened
	Kind   string        // open, start, command, check, hint, submit, graded
	Text   string
}

// ChallengeReport is one challenge of a candidate's report.
type ChallengeReport struct {
	Attempt    attempts.Attempt
	Title      string
	Final      *attempts.CheckRun // the newest grading (the final one once submitted)
	HintCost   int
	Submission *Submission
	Files      []SubmittedFile
	Diff       string
	Recordings []recording.Meta
	Reviews    []ReviewEntry
	// Commands says whether commands typed could be read from the
	// recordings (false: no recording, or recordings are not readable).
	Commands bool
}

// ReviewEntry is a review with its author's name.
type ReviewEntry struct {
	Review
	ReviewerName string
}

// Report is everything a reviewer sees about one candidate.
type Report struct {
	Assignment Assignment
	Invite     Invite
	Claim      *InviteClaim
	Candidate  Candidate
	Challenges []ChallengeReport
	Timeline   []TimelineEvent
}

// maxCommands bounds the commands shown per recording.
const maxCommands = 500

// Report builds a candidate's report for a reviewer.
func (s *Service) Report(ctx context.Context, actor Actor, inviteID string) (*Report, error) {
	inv, err := s.st.InviteByID(ctx, inviteID)
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, fmt.Errorf("candidate %s: %w", inviteID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	d, err := s.Assignment(ctx, actor, inv.AssignmentID)
	if err != nil {
		return nil, err
	}
	r := &Report{Assignment: d.Assignment, Invite: *inv}
	for _, c := range d.Candidates {
		if c.Invite.ID == inv.ID {
			r.Candidate = c
			r.Claim = c.Claim
		}
	}
	if r.Claim == nil {
		return r, nil
	}
	open := r.Claim.OpenedAt
	add := func(at time.Time, kind, text string) {
		r.Timeline = append(r.Timeline, TimelineEvent{At: at, Offset: at.Sub(open).Round(time.Second), Kind: kind, Text: text})
	}
	add(open, "open", "opened the invite; the clock started (deadline "+r.Claim.DeadlineAt.UTC().Format("2006-01-02 15:04 MST")+")")
	ats, err := s.st.AttemptsByInvite(ctx, inv.ID)
	if err != nil {
		return nil, err
	}
	for _, at := range ats {
		if at.State == attempts.StateAbandoned {
			continue
		}
		cr := ChallengeReport{Attempt: at, Title: at.ChallengeID}
		ch, err := s.att.Challenge(&at)
		if err == nil {
			cr.Title = ch.Title
		} else {
			ch = nil
		}
		add(at.StartedAt, "start", "sandbox of "+cr.Title+" ready")
		runs, err := s.st.CheckRunsByAttempt(ctx, at.ID)
		if err != nil {
			return nil, err
		}
		for i := range runs {
			label := "pressed Check"
			if r.Claim.SubmitRequestedAt != nil && !runs[i].FinishedAt.Before(*r.Claim.SubmitRequestedAt) {
				label = "final grading"
			}
			add(runs[i].FinishedAt, "check", fmt.Sprintf("%s on %s: %d/%d", label, cr.Title, runs[i].Score, runs[i].MaxScore))
			for _, res := range runs[i].Results {
				if isPipelineCheck(ch, res.CheckID) {
					add(runs[i].FinishedAt, "pipeline", pipelineEvent(res))
				}
			}
		}
		if len(runs) > 0 {
			cr.Final = &runs[len(runs)-1]
		}
		hints, err := s.st.HintReveals(ctx, at.ID)
		if err != nil {
			return nil, err
		}
		for _, h := range hints {
			cr.HintCost += h.Cost
			add(h.RevealedAt, "hint", fmt.Sprintf("revealed hint %d of %s (−%d points)", h.HintIndex+1, cr.Title, h.Cost))
		}
		if sub, err := s.st.SubmissionByAttempt(ctx, at.ID); err == nil {
			cr.Submission, cr.Diff = sub, sub.Diff
			_ = json.Unmarshal([]byte(sub.Files), &cr.Files)
		} else if apperr.ErrorCode(err) != apperr.NotFound {
			return nil, err
		}
		recs, err := s.st.RecordingsByAttempt(ctx, at.ID)
		if err != nil {
			return nil, err
		}
		cr.Recordings = recs
		for _, rec := range recs {
			cmds, ok := s.commands(rec)
			cr.Commands = cr.Commands || ok
			for _, c := range cmds {
				add(c.At, "command", "$ "+c.Text)
			}
		}
		revs, err := s.st.ReviewsByAttempt(ctx, at.ID)
		if err != nil {
			return nil, err
		}
		for _, rv := range revs {
			e := ReviewEntry{Review: rv, ReviewerName: rv.ReviewerID}
			if u, err := s.st.UserByID(ctx, rv.ReviewerID); err == nil {
				e.ReviewerName = u.Name
			}
			cr.Reviews = append(cr.Reviews, e)
		}
		r.Challenges = append(r.Challenges, cr)
	}
	if c := r.Claim; c.SubmitRequestedAt != nil {
		what := "submitted"
		if c.Automatic {
			what = "time was up: submitted automatically"
		}
		add(*c.SubmitRequestedAt, "submit", what)
		if c.FinalizedAt != nil {
			msg := "submission frozen: final grading stored, files kept, sandbox removed"
			if c.Error != "" {
				msg += " (with problems: " + c.Error + ")"
			}
			add(*c.FinalizedAt, "graded", msg)
		}
	}
	sort.SliceStable(r.Timeline, func(i, j int) bool { return r.Timeline[i].At.Before(r.Timeline[j].At) })
	return r, nil
}

// command is one line typed in a terminal.
type command struct {
	At   time.Time
	Text string
}

// maxCastBytes bounds how much of a recording is read for commands.
const maxCastBytes = 16 << 20

// commands reads the lines typed in a recording from its input events.
// ok is false when there are no readable input events.
func (s *Service) commands(rec recording.Meta) ([]command, bool) {
	if s.casts == nil || rec.Path == "" {
		return nil, false
	}
	rc, err := s.casts.Open(rec.Path)
	if err != nil {
		s.log.Debug("open recording for commands", "recording", rec.ID, "err", err)
		return nil, false
	}
	defer rc.Close()
	h, evs, err := recording.Parse(io.LimitReader(rc, maxCastBytes))
	if err != nil && len(evs) == 0 {
		return nil, false
	}
	start := rec.StartedAt
	if h.Timestamp > 0 {
		start = time.Unix(h.Timestamp, 0).UTC()
	}
	var out []command
	var inputs bool
	for _, line := range TypedLines(evs) {
		inputs = true
		if len(out) == maxCommands {
			break
		}
		out = append(out, command{At: start.Add(time.Duration(line.Time * float64(time.Second))), Text: line.Text})
	}
	for _, e := range evs {
		if e.Kind == "i" {
			inputs = true
			break
		}
	}
	return out, inputs
}

// TypedLine is a line entered in a terminal, at its Enter key.
type TypedLine struct {
	Time float64 // seconds since the recording began
	Text string
}

// TypedLines rebuilds the lines typed from a recording's input events:
// printable characters accumulate, backspace removes one, Ctrl-C and
// Ctrl-U drop the line, escape sequences (arrows, function keys) are
// skipped, Enter ends a line. Tab completion and history recall happen in
// the shell, so those lines show what was typed, not what ran.
func TypedLines(evs []recording.Event) []TypedLine {
	var (
		out  []TypedLine
		cur  []rune
		esc  int // 0 none, 1 after ESC, 2 inside CSI/SS3
		last float64
	)
	for _, e := range evs {
		if e.Kind != "i" {
			continue
		}
		last = e.Time
		for _, r := range e.Data {
			switch {
			case esc == 1:
				if r == '[' || r == 'O' {
					esc = 2
				} else {
					esc = 0
				}
				continue
			case esc == 2:
				if r >= 0x40 && r <= 0x7e {
					esc = 0
				}
				continue
			}
			switch r {
			case 0x1b:
				esc = 1
			case '\r', '\n':
				if txt := strings.TrimSpace(string(cur)); txt != "" {
					out = append(out, TypedLine{Time: last, Text: txt})
				}
				cur = cur[:0]
			case 0x7f, 0x08:
				if len(cur) > 0 {
					cur = cur[:len(cur)-1]
				}
			case 0x03, 0x15: // Ctrl-C, Ctrl-U
				cur = cur[:0]
			default:
				if r >= 0x20 && len(cur) < 4096 {
					cur = append(cur, r)
				}
			}
		}
	}
	return out
}

// SaveReview stores actor's notes and rubric score (0–100, nil for none)
// on one attempt of a candidate.
func (s *Service) SaveReview(ctx context.Context, actor Actor, inviteID, attemptID, notes string, rubric *int) error {
	inv, err := s.st.InviteByID(ctx, inviteID)
	if apperr.ErrorCode(err) == apperr.NotFound {
		return fmt.Errorf("candidate %s: %w", inviteID, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if _, err := s.assignmentFor(ctx, actor, inv.AssignmentID); err != nil {
		return err
	}
	at, err := s.st.AttemptByID(ctx, attemptID)
	if err != nil || at.InviteID == nil || *at.InviteID != inviteID {
		return fmt.Errorf("attempt %s of candidate %s: %w", attemptID, inviteID, ErrNotFound)
	}
	if len(notes) > 20000 {
		return &ValidationError{"notes", "must be at most 20000 characters"}
	}
	if rubric != nil && (*rubric < 0 || *rubric > 100) {
		return &ValidationError{"rubric_score", "must be between 0 and 100"}
	}
	now := s.now().UTC()
	if err := s.st.UpsertReview(ctx, &Review{AttemptID: attemptID, ReviewerID: actor.ID, Notes: notes, RubricScore: rubric, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	s.audit(ctx, actor.ID, "review.save", "attempt", attemptID, map[string]any{"invite": inviteID})
	return nil
}

// WriteCSV writes the scores of an assignment's candidates as CSV.
func (s *Service) WriteCSV(ctx context.Context, actor Actor, assignmentID string, w io.Writer) error {
	d, err := s.Assignment(ctx, actor, assignmentID)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := []string{"name", "email", "status", "opened_at", "submitted_at", "automatic", "time_used_seconds", "score", "max_score", "rubric_score"}
	for _, ch := range d.Challenges {
		head = append(head, "score:"+ch.ID)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, c := range d.Candidates {
		row := []string{c.Invite.Name, c.Invite.Email, c.Status, "", "", "", "", "", "", c.Rubric}
		if c.Claim != nil {
			opened := c.Claim.OpenedAt
			row[3], row[4] = ts(&opened), ts(c.Claim.SubmitRequestedAt)
			row[5] = strconv.FormatBool(c.Claim.Automatic)
			row[6] = strconv.Itoa(int(c.TimeUsed / time.Second))
			if c.Scored {
				row[7], row[8] = strconv.Itoa(c.Score), strconv.Itoa(c.MaxScore)
			}
		}
		for _, ch := range d.Challenges {
			row = append(row, c.PerChallenge[ch.ID])
		}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formulas in cells a candidate controls
// (names): a leading = + - @ tab or CR makes Excel evaluate the cell.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// CanReview says whether actor may review an attempt (its terminal
// replay, say): admins any attempt, managers the attempts of their own
// assignments' candidates. It returns ErrNotFound otherwise.
func (s *Service) CanReview(ctx context.Context, actor Actor, attemptID string) error {
	if actor.Role == accounts.RoleAdmin {
		return nil
	}
	at, err := s.st.AttemptByID(ctx, attemptID)
	if err != nil || at.InviteID == nil {
		return fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	inv, err := s.st.InviteByID(ctx, *at.InviteID)
	if err != nil {
		return fmt.Errorf("attempt %s: %w", attemptID, ErrNotFound)
	}
	_, err = s.assignmentFor(ctx, actor, inv.AssignmentID)
	return err
}

// isPipelineCheck says whether ch's check id runs the candidate's workflow.
func isPipelineCheck(ch *challenges.Challenge, id string) bool {
	if ch == nil {
		return false
	}
	for _, c := range ch.Checks {
		if c.ID == id {
			return c.Type == challenges.CheckPipeline
		}
	}
	return false
}

// pipelineEvent is the timeline line of one pipeline run: its verdict and
// the first line of what the grader said (which job or step failed).
func pipelineEvent(res attempts.CheckResult) string {
	verdict := "failed"
	if res.Passed {
		verdict = "passed"
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(res.Message), "\n")
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	text := fmt.Sprintf("pipeline run of %s: %s, %d/%d", res.Title, verdict, res.Points, res.MaxPoints)
	if msg != "" {
		text += " — " + msg
	}
	return text
}
