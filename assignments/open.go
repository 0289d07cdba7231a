package assignments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/attempts"
)

// Invite tokens: 256 random bits in the URL, SHA-256 in the database.
func newToken() string            { return accounts.NewToken() }
func hashToken(tok string) string { return accounts.HashToken(tok) }

// maxTokenLen bounds what is hashed from a URL.
const maxTokenLen = 128

// sessionGrace keeps a candidate's session alive a little past their
// deadline, so they can see that their work was submitted.
const sessionGrace = time.Hour

// Landing is what the invite page shows before the candidate starts.
type Landing struct {
	Invite     *Invite
	Assignment *Assignment
	Challenges []ChallengeRef
	TimeLimit  time.Duration
}

// ChallengeRef names a challenge of an assignment.
type ChallengeRef struct {
	ID, Title string
}

func (s *Service) challengeRefs(a *Assignment) []ChallengeRef {
	var out []ChallengeRef
	for _, id := range a.ChallengeIDs {
		ref := ChallengeRef{ID: id, Title: id}
		if ch, ok := s.cat.Get(id); ok {
			ref.Title = ch.Title
		}
		out = append(out, ref)
	}
	return out
}

// inviteByToken resolves a token to its invite and assignment, refusing
// invites that cannot be opened (any more). acc, when not nil, is the
// session of the request: an invite already opened by its user may be
// opened again through its link (mine is then true); Open decides what
// that session may reach.
func (s *Service) inviteByToken(ctx context.Context, token string, acc *Access) (inv *Invite, a *Assignment, mine bool, err error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, nil, false, ErrInviteUnknown
	}
	inv, err = s.st.InviteByTokenHash(ctx, hashToken(token))
	if apperr.ErrorCode(err) == apperr.NotFound {
		return nil, nil, false, ErrInviteUnknown
	}
	if err != nil {
		return nil, nil, false, err
	}
	a, err = s.st.AssignmentByID(ctx, inv.AssignmentID)
	if err != nil {
		return nil, nil, false, err
	}
	now := s.now()
	switch inv.State {
	case InviteOpened, InviteSubmitted:
		if acc != nil {
			if c, err := s.st.ClaimByInvite(ctx, inv.ID); err == nil && c.UserID == acc.UserID {
				return inv, a, true, nil
			}
		}
		return nil, nil, false, ErrInviteUsed
	case InviteRevoked:
		return nil, nil, false, ErrInviteRevoked
	case InviteExpired:
		return nil, nil, false, ErrInviteExpired
	}
	if !now.Before(inv.ExpiresAt) {
		return nil, nil, false, ErrInviteExpired
	}
	if !now.Before(a.DeadlineAt) {
		return nil, nil, false, ErrAssignmentClosed
	}
	return inv, a, false, nil
}

// Landing describes an invite for its landing page, or says why it
// cannot be opened. It changes nothing: link previews and prefetchers
// (mail scanners, chat unfurls) must not start the clock. reopened is
// true when acc already reaches this opened take-home (go straight to it);
// an opened invite of acc's user that acc does not reach shows the page,
// whose Start (Open) moves the browser's session to it.
func (s *Service) Landing(ctx context.Context, token string, acc *Access) (*Landing, bool, error) {
	inv, a, mine, err := s.inviteByToken(ctx, token, acc)
	if err != nil {
		return nil, false, err
	}
	return &Landing{Invite: inv, Assignment: a, Challenges: s.challengeRefs(a), TimeLimit: time.Duration(a.TimeLimitS) * time.Second}, mine && acc.Allows(inv.ID), nil
}

// OpenRequest is a candidate pressing Start on an invite.
type OpenRequest struct {
	Token string
	// Session is the request's login session, if any.
	Session       *Access
	IP, UserAgent string
}

// Opened is the result of opening an invite.
type Opened struct {
	InviteID string
	// SessionToken, when set, is a new login session for the candidate
	// (the cookie value), scoped to this invite; empty when the request's
	// session is kept.
	SessionToken   string
	SessionExpires time.Time
	// StartErr is set when some sandboxes could not start; the candidate
	// can retry from the assignment page, the clock runs regardless.
	StartErr error
}

// Open claims an invite (once), logs the candidate in, starts the clock
// and the challenges' sandboxes.
//
// Who is logged in: the invite's email is the candidate's identity. A new
// email gets a candidate account without a password (it can only be
// entered through invites). An existing password account must log in
// first, so a link forwarded to someone else cannot take over an account;
// staff emails are refused.
//
// What the session reaches: the invite's take-home only. Two managers may
// invite the same email, and both links then lead to one password-less
// account; a session opened by a link is therefore scoped to that link's
// invite (sessions.invite_id), so holding link B never yields anything of
// invite A. A password login keeps its session, which reaches every
// take-home of its account: it is the account's owner.
//
// Opening an invite already opened by the same account (its link presented
// again) returns to it; a session scoped to another invite is replaced by
// one scoped to this one.
func (s *Service) Open(ctx context.Context, req OpenRequest) (*Opened, error) {
	inv, a, mine, err := s.inviteByToken(ctx, req.Token, req.Session)
	if err != nil {
		return nil, err
	}
	if mine {
		return s.reopen(ctx, req, inv)
	}
	u, err := s.candidateFor(ctx, inv, req.Session)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	deadline := now.Add(time.Duration(a.TimeLimitS) * time.Second)
	if deadline.After(a.DeadlineAt) {
		deadline = a.DeadlineAt.UTC()
	}
	claim := &InviteClaim{InviteID: inv.ID, UserID: u.ID, OpenedAt: now, DeadlineAt: deadline}
	if err := s.st.ClaimInvite(ctx, claim); err != nil {
		if apperr.ErrorCode(err) == apperr.Conflict {
			// Lost a race with another open, or expired meanwhile.
			_, _, _, why := s.inviteByToken(ctx, req.Token, nil)
			if why == nil {
				why = ErrInviteUsed
			}
			return nil, why
		}
		return nil, err
	}
	out := &Opened{InviteID: inv.ID}
	if acc := req.Session; acc == nil || acc.UserID != u.ID || acc.Scoped {
		tok, exp, err := s.newSession(ctx, u, inv.ID, deadline, req.IP, req.UserAgent)
		if err != nil {
			return nil, err
		}
		out.SessionToken, out.SessionExpires = tok, exp
	}
	s.audit(ctx, u.ID, "invite.open", "invite", inv.ID, map[string]any{"assignment": a.ID, "deadline": deadline})
	s.hooks.emit(ctx, EventInviteOpened, s.eventData(a, inv, claim, nil))
	out.StartErr = s.startMissing(ctx, inv, claim)
	return out, nil
}

// reopen returns the holder of an opened invite's link, signed in as the
// invite's user, to its take-home: a session that reaches it is kept; one
// scoped to another invite of the same account is replaced by a session
// scoped to this one (the link was presented).
func (s *Service) reopen(ctx context.Context, req OpenRequest, inv *Invite) (*Opened, error) {
	acc := req.Session
	if acc.Allows(inv.ID) {
		return &Opened{InviteID: inv.ID}, nil
	}
	u, err := s.st.UserByID(ctx, acc.UserID)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Role != accounts.RoleCandidate:
		return nil, ErrStaffEmail
	case u.Disabled:
		return nil, ErrInviteRevoked
	case u.PasswordHash != "":
		return nil, ErrLoginRequired // the password login reaches all of the account's take-homes
	}
	c, err := s.st.ClaimByInvite(ctx, inv.ID)
	if err != nil {
		return nil, err
	}
	tok, exp, err := s.newSession(ctx, u, inv.ID, c.DeadlineAt, req.IP, req.UserAgent)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, u.ID, "invite.reopen", "invite", inv.ID, nil)
	return &Opened{InviteID: inv.ID, SessionToken: tok, SessionExpires: exp}, nil
}

// candidateFor finds or creates the candidate account of an invite. acc
// is the request's session, if any.
func (s *Service) candidateFor(ctx context.Context, inv *Invite, acc *Access) (*accounts.User, error) {
	u, err := s.st.UserByEmail(ctx, inv.Email)
	if apperr.ErrorCode(err) == apperr.NotFound {
		now := s.now().UTC()
		u = &accounts.User{Email: inv.Email, Name: inv.Name, Role: accounts.RoleCandidate, CreatedAt: now, UpdatedAt: now}
		err = s.st.CreateUser(ctx, u)
		if apperr.ErrorCode(err) == apperr.Conflict { // created by a concurrent open
			u, err = s.st.UserByEmail(ctx, inv.Email)
		}
	}
	if err != nil {
		return nil, err
	}
	switch {
	case u.Role != accounts.RoleCandidate:
		return nil, ErrStaffEmail
	case u.Disabled:
		return nil, ErrInviteRevoked
	case u.PasswordHash != "" && (acc == nil || acc.UserID != u.ID || acc.Scoped):
		return nil, ErrLoginRequired
	}
	return u, nil
}

func (s *Service) newSession(ctx context.Context, u *accounts.User, inviteID string, deadline time.Time, ip, ua string) (string, time.Time, error) {
	now := s.now().UTC()
	tok := newToken()
	if deadline.Before(now) { // reopened after the deadline: long enough to read that it was submitted
		deadline = now
	}
	exp := deadline.Add(sessionGrace).UTC()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	rec := &accounts.SessionRecord{ID: hashToken(tok), UserID: u.ID, CSRFToken: newToken(), CreatedAt: now, LastSeenAt: now, ExpiresAt: exp, IP: ip, UserAgent: ua, InviteID: &inviteID}
	if err := s.st.CreateSession(ctx, rec); err != nil {
		return "", time.Time{}, fmt.Errorf("candidate session: %w", err)
	}
	return tok, exp, nil
}

// startMissing starts the sandbox of every challenge of the invite that
// has no attempt yet (all of them at open; the failed ones on retry).
func (s *Service) startMissing(ctx context.Context, inv *Invite, claim *InviteClaim) error {
	a, err := s.st.AssignmentByID(ctx, inv.AssignmentID)
	if err != nil {
		return err
	}
	have, err := s.st.AttemptsByInvite(ctx, inv.ID)
	if err != nil {
		return err
	}
	started := map[string]bool{}
	for _, at := range have {
		if at.State != attempts.StateAbandoned {
			started[at.ChallengeID] = true
		}
	}
	var errs []error
	deadline := claim.DeadlineAt
	for _, id := range a.ChallengeIDs {
		if started[id] {
			continue
		}
		if _, err := s.att.Start(ctx, id, attempts.StartOptions{UserID: claim.UserID, InviteID: inv.ID, Mode: attempts.ModeAssignment, Deadline: &deadline}); err != nil {
			s.log.Warn("start take-home challenge", "invite", inv.ID, "challenge", id, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Take is the candidate's view of their assignment.
type Take struct {
	Invite     *Invite
	Assignment *Assignment
	Claim      *InviteClaim
	Items      []TakeItem
	// Submitted is true once the submission was requested (by the
	// candidate or the clock); Frozen once it is complete.
	Submitted, Frozen bool
	Open              bool // work may go on: not submitted, time left
	Left              time.Duration
}

// TakeItem is one challenge of a take-home.
type TakeItem struct {
	ChallengeRef
	Attempt *attempts.Attempt // nil: not started (yet)
}

// Access is what a login session may reach of take-homes: the invites
// its user opened, all of them for a password login, or, for a session
// opened by an invite link, that invite only.
type Access struct {
	UserID string
	// Scoped sessions reach InviteID only (none when it is empty).
	Scoped   bool
	InviteID string
}

// SessionAccess is the access of a session of user u. inviteID is the
// invite whose link opened the session ("" for a password login). A
// session of an account without a password can only have come from an
// invite link: without an invite it reaches no take-home (sessions opened
// before sessions.invite_id existed and not matched by migration 00003).
func SessionAccess(u *accounts.User, inviteID string) Access {
	return Access{UserID: u.ID, InviteID: inviteID, Scoped: inviteID != "" || u.PasswordHash == ""}
}

// Allows says whether the session may reach the take-home of inviteID
// (when its user opened it: the claim says whose it is). A nil Access
// (no session) reaches nothing.
func (a *Access) Allows(inviteID string) bool {
	return a != nil && inviteID != "" && (!a.Scoped || a.InviteID == inviteID)
}

// AllowsAttempt says whether the session may reach attempt at: its own
// attempts outside take-homes (practice) unless the session is scoped,
// and the attempts of the take-homes it reaches.
func (a *Access) AllowsAttempt(at *attempts.Attempt) bool {
	if a == nil || at.UserID == nil || *at.UserID != a.UserID {
		return false
	}
	if at.InviteID == nil || *at.InviteID == "" {
		return !a.Scoped
	}
	return a.Allows(*at.InviteID)
}

// claimFor loads a claim that belongs to userID.
func (s *Service) claimFor(ctx context.Context, userID, inviteID string) (*InviteClaim, error) {
	c, err := s.st.ClaimByInvite(ctx, inviteID)
	if apperr.ErrorCode(err) == apperr.NotFound || (err == nil && c.UserID != userID) {
		return nil, fmt.Errorf("take-home %s: %w", inviteID, ErrNotFound)
	}
	return c, err
}

// claimAs loads a claim the session reaches.
func (s *Service) claimAs(ctx context.Context, acc Access, inviteID string) (*InviteClaim, error) {
	if !acc.Allows(inviteID) {
		return nil, fmt.Errorf("take-home %s: %w", inviteID, ErrNotFound)
	}
	return s.claimFor(ctx, acc.UserID, inviteID)
}

// Take returns the candidate's assignment page data.
func (s *Service) Take(ctx context.Context, acc Access, inviteID string) (*Take, error) {
	c, err := s.claimAs(ctx, acc, inviteID)
	if err != nil {
		return nil, err
	}
	inv, err := s.st.InviteByID(ctx, inviteID)
	if err != nil {
		return nil, err
	}
	a, err := s.st.AssignmentByID(ctx, inv.AssignmentID)
	if err != nil {
		return nil, err
	}
	ats, err := s.st.AttemptsByInvite(ctx, inviteID)
	if err != nil {
		return nil, err
	}
	t := &Take{Invite: inv, Assignment: a, Claim: c, Submitted: c.SubmitRequestedAt != nil, Frozen: c.FinalizedAt != nil}
	now := s.now()
	t.Left = c.DeadlineAt.Sub(now)
	t.Open = !t.Submitted && t.Left > 0
	for _, ref := range s.challengeRefs(a) {
		it := TakeItem{ChallengeRef: ref}
		for i := range ats {
			if ats[i].ChallengeID == ref.ID && ats[i].State != attempts.StateAbandoned {
				it.Attempt = &ats[i]
			}
		}
		t.Items = append(t.Items, it)
	}
	return t, nil
}

// TakesOf lists the take-homes a session reaches (for the candidate's
// home page), newest first.
func (s *Service) TakesOf(ctx context.Context, acc Access) ([]InviteClaim, error) {
	if acc.Scoped {
		c, err := s.claimAs(ctx, acc, acc.InviteID)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []InviteClaim{*c}, nil
	}
	return s.st.ClaimsByUser(ctx, acc.UserID)
}

// StartMissing retries starting the challenges of a take-home whose
// sandboxes failed to start.
func (s *Service) StartMissing(ctx context.Context, acc Access, inviteID string) error {
	c, err := s.claimAs(ctx, acc, inviteID)
	if err != nil {
		return err
	}
	if c.SubmitRequestedAt != nil || !s.now().Before(c.DeadlineAt) {
		return ErrNotStartable
	}
	inv, err := s.st.InviteByID(ctx, inviteID)
	if err != nil {
		return err
	}
	return s.startMissing(ctx, inv, c)
}

// SubmitAs is Submit for a session: a take-home it does not reach is not
// found.
func (s *Service) SubmitAs(ctx context.Context, acc Access, inviteID string) error {
	if !acc.Allows(inviteID) {
		return fmt.Errorf("take-home %s: %w", inviteID, ErrNotFound)
	}
	return s.Submit(ctx, acc.UserID, inviteID)
}

// Policy is what an assignment allows inside its attempts; the attempts
// service enforces it (attempts.Policy).
type Policy = attempts.Policy

// PolicyFor returns the rules of the assignment an attempt belongs to
// (the attempts service's attempts.PolicySource: main wires it with
// attempts.Service.UsePolicies).
func (s *Service) PolicyFor(ctx context.Context, a *attempts.Attempt) (Policy, error) {
	if a.InviteID == nil || *a.InviteID == "" {
		return Policy{HintsAllowed: true}, nil
	}
	inv, err := s.st.InviteByID(ctx, *a.InviteID)
	if err != nil {
		return Policy{}, err
	}
	as, err := s.st.AssignmentByID(ctx, inv.AssignmentID)
	if err != nil {
		return Policy{}, err
	}
	return Policy{Assignment: true, HintsAllowed: as.HintsAllowed, Interview: as.InterviewMode}, nil
}
