package server

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/assignments"
)

// Invite-scoped sessions (issue #11, finding 1).
//
// Two managers may invite the same email; both links then sign in the same
// password-less candidate account. So a session opened by an invite link
// carries that invite (sessions.invite_id) and reaches that take-home only:
// its page, start and submit, the attempts it started (workspace, files,
// check, results, hints, reset, terminal tickets and websockets) and their
// recordings. Holding link B never yields anything of invite A.
//
// scopeSessions enforces it in one place, before any route runs, with an
// allow-list: a scoped session on a route that is not listed below is
// refused (403), so a route added later is closed to invite sessions until
// someone decides otherwise. Listed routes that name a take-home, an
// attempt or a recording are checked against the session's invite (404
// when it is not theirs, like a missing ID). The handlers check again
// (assign_candidate.go, terminal_authz.go).
//
// A password login is the account's owner: its session is not scoped and
// reaches every take-home of the account (and practice, as before). A
// session of an account without a password and without an invite (opened
// before migration 00003 and not matched by it) is scoped to nothing.

// scopeKind says what a listed route needs from a scoped session.
type scopeKind int

const (
	scopeKeep      scopeKind = iota // no take-home resource in the path
	scopeAnonymous                  // served as to an anonymous visitor (login, sign-up)
	scopeHome                       // "/": the session's take-home
	scopeInvite                     // the path's invite must be the session's
	scopeAttempt                    // the path's attempt must belong to the session's invite
	scopeRecording                  // the path's recording must belong to such an attempt
)

// scopedRoute is one route an invite session may use. In path, a segment
// starting with ':' is a parameter; param names the one that is checked.
type scopedRoute struct {
	method string
	path   []string
	param  int // index in path of the checked parameter
	kind   scopeKind
}

func route(method, path string, kind scopeKind) scopedRoute {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	r := scopedRoute{method: method, path: segs, param: -1, kind: kind}
	if kind == scopeInvite || kind == scopeAttempt || kind == scopeRecording {
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				r.param = i
				break
			}
		}
	}
	return r
}

// scopedRoutes is the whole reach of an invite session.
var scopedRoutes = []scopedRoute{
	route("GET", "/", scopeHome),
	route("GET", "/take", scopeKeep), // lists only the session's take-home
	route("GET", "/take/:invite", scopeInvite),
	route("POST", "/take/:invite/start", scopeInvite),
	route("POST", "/take/:invite/submit", scopeInvite),
	route("GET", "/api/v1/take/:invite", scopeInvite),
	route("POST", "/api/v1/take/:invite/submit", scopeInvite),
	// The link itself: the service decides (open, return, or refuse).
	route("GET", "/invite/:token", scopeKeep),
	route("POST", "/invite/:token", scopeKeep),

	route("GET", "/attempts/:id", scopeAttempt),
	route("GET", "/attempts/:attempt/terminal", scopeAttempt),
	route("GET", "/api/v1/attempts/:id", scopeAttempt),
	route("POST", "/api/v1/attempts/:id/check", scopeAttempt),
	route("GET", "/api/v1/attempts/:id/results", scopeAttempt),
	route("POST", "/api/v1/attempts/:id/hints/:n", scopeAttempt),
	route("POST", "/api/v1/attempts/:id/reset", scopeAttempt),
	route("GET", "/api/v1/attempts/:id/files", scopeAttempt),
	route("PUT", "/api/v1/attempts/:id/files", scopeAttempt),
	route("POST", "/api/v1/attempts/:attempt/terminals/:term/ticket", scopeAttempt),
	route("GET", "/ws/terminal/:attempt/:term", scopeAttempt),

	route("GET", "/recordings/:id", scopeRecording),
	route("GET", "/recordings/:id/cast", scopeRecording),
	route("GET", "/recordings/:id/download", scopeRecording),

	route("POST", "/logout", scopeKeep),
	route("POST", "/api/v1/logout", scopeKeep),
	route("GET", "/api/v1/me", scopeKeep),
	route("GET", "/api/v1/csrf", scopeKeep),
	route("GET", "/login", scopeAnonymous),
	route("POST", "/login", scopeAnonymous),
	route("POST", "/api/v1/login", scopeAnonymous),
	route("GET", "/register", scopeAnonymous),
	route("POST", "/register", scopeAnonymous),
	route("POST", "/api/v1/register", scopeAnonymous),
}

// matchScoped finds the listed route of a request and its checked
// parameter. Literal segments compare without case, as the router does;
// one trailing slash is ignored, as the router does.
func matchScoped(method, path string) (scopedRoute, string, bool) {
	if method == fiber.MethodHead {
		method = fiber.MethodGet
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range scopedRoutes {
		if r.method != method || len(r.path) != len(segs) {
			continue
		}
		ok := true
		for i, p := range r.path {
			if strings.HasPrefix(p, ":") {
				ok = segs[i] != ""
			} else {
				ok = strings.EqualFold(p, segs[i])
			}
			if !ok {
				break
			}
		}
		if ok {
			param := ""
			if r.param >= 0 {
				param = segs[r.param]
			}
			return r, param, true
		}
	}
	return scopedRoute{}, "", false
}

// accessOf is what sess reaches of take-homes.
func accessOf(sess *accounts.Session) assignments.Access {
	return assignments.SessionAccess(sess.User, sess.InviteID)
}

// sessionAccess is the request's access, nil when no one is logged in.
func sessionAccess(c *fiber.Ctx) *assignments.Access {
	sess := sessionFrom(c)
	if sess == nil {
		return nil
	}
	acc := accessOf(sess)
	return &acc
}

// errScopedSession refuses an invite session outside its take-home.
func errScopedSession(acc assignments.Access) error {
	where := "its own take-home"
	if acc.InviteID != "" {
		where += " (/take/" + url.PathEscape(acc.InviteID) + ")"
	}
	return fiber.NewError(fiber.StatusForbidden, "a session opened by an invite link cannot do this: it reaches "+where+" only; log out to use the rest of opsdojo")
}

// scopeSessions confines invite sessions to their take-home (see the top
// of this file). Sessions of password logins pass untouched.
func (s *Server) scopeSessions(c *fiber.Ctx) error {
	sess := sessionFrom(c)
	if sess == nil {
		return c.Next()
	}
	acc := accessOf(sess)
	if !acc.Scoped {
		return c.Next()
	}
	if sess.User.Role != accounts.RoleCandidate {
		// An invite never signs in staff; should the account have become
		// staff since, its invite session is no session at all.
		c.Locals(localsSession, nil)
		return c.Next()
	}
	r, param, ok := matchScoped(c.Method(), c.Path())
	if !ok {
		return errScopedSession(acc)
	}
	notFound := fiber.NewError(fiber.StatusNotFound, "not found: "+param)
	switch r.kind {
	case scopeAnonymous:
		c.Locals(localsSession, nil)
	case scopeHome:
		if acc.InviteID == "" {
			return errScopedSession(acc)
		}
		return c.Redirect("/take/"+url.PathEscape(acc.InviteID), fiber.StatusSeeOther)
	case scopeInvite:
		if !acc.Allows(param) {
			return notFound
		}
	case scopeAttempt:
		ok, err := s.attemptInScope(c, acc, param)
		if err != nil {
			return err
		}
		if !ok {
			return notFound
		}
	case scopeRecording:
		if s.deps.Terminal.Recordings == nil {
			return notFound
		}
		rec, err := s.deps.Terminal.Recordings.RecordingByID(c.UserContext(), param)
		if apperr.ErrorCode(err) == apperr.NotFound {
			return notFound
		}
		if err != nil {
			return err
		}
		ok, err := s.attemptInScope(c, acc, rec.AttemptID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound
		}
	}
	return c.Next()
}

// attemptInScope says whether attempt id belongs to the take-home acc
// reaches. A missing attempt is simply not in scope.
func (s *Server) attemptInScope(c *fiber.Ctx, acc assignments.Access, id string) (bool, error) {
	if s.deps.Attempts == nil || !acc.Allows(acc.InviteID) {
		return false, nil
	}
	a, err := s.deps.Attempts.Get(c.UserContext(), id, acc.UserID)
	if err != nil {
		if apperr.ErrorCode(err) == apperr.NotFound {
			return false, nil
		}
		return false, err
	}
	return acc.AllowsAttempt(a), nil
}
