package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
)

// Accounts is what the server needs from the accounts domain.
type Accounts interface {
	CreateUser(ctx context.Context, nu accounts.NewUser) (*accounts.User, error)
	Login(ctx context.Context, email, password, ip, userAgent string) (string, *accounts.Session, error)
	Authenticate(ctx context.Context, token string) (*accounts.Session, error)
	Logout(ctx context.Context, token string) error
	ChangePassword(ctx context.Context, sess *accounts.Session, current, next, ip string) (revoked int64, err error)
	LogoutAll(ctx context.Context, sess *accounts.Session) (revoked int64, err error)
}

const (
	sessionCookie = "opsdojo_session"
	csrfCookie    = "opsdojo_csrf"
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "_csrf"
	localsSession = "session"
)

// sessionFrom returns the logged-in session, or nil.
func sessionFrom(c *fiber.Ctx) *accounts.Session {
	s, _ := c.Locals(localsSession).(*accounts.Session)
	return s
}

// authenticate loads the session from the cookie when there is one. It
// never rejects: routes that need a login use requireRole.
func (s *Server) authenticate(c *fiber.Ctx) error {
	if raw, ok := bearerToken(c); ok {
		return s.authenticateBearer(c, raw) // tokens.go: cookies ignored
	}
	if s.deps.Accounts == nil {
		return c.Next()
	}
	if tok := c.Cookies(sessionCookie); tok != "" {
		sess, err := s.deps.Accounts.Authenticate(c.UserContext(), tok)
		switch {
		case err == nil:
			c.Locals(localsSession, sess)
		case errors.Is(err, accounts.ErrNoSession):
			s.clearSessionCookie(c)
		default:
			return err
		}
	}
	return c.Next()
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.cfg.PublicURL, "https://") }

func (s *Server) setSessionCookie(c *fiber.Ctx, token string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires, HTTPOnly: true, Secure: s.secureCookies(), SameSite: fiber.CookieSameSiteLaxMode})
}

func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true, Secure: s.secureCookies(), SameSite: fiber.CookieSameSiteLaxMode})
}

// csrfToken returns the token forms and scripts must send back: the
// session's when logged in, else a double-submit cookie (set if missing).
func (s *Server) csrfToken(c *fiber.Ctx) string {
	if sess := sessionFrom(c); sess != nil {
		return sess.CSRFToken
	}
	tok := c.Cookies(csrfCookie)
	if len(tok) < 32 {
		tok = accounts.NewToken()
		c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: tok, Path: "/", HTTPOnly: true, Secure: s.secureCookies(), SameSite: fiber.CookieSameSiteStrictMode})
	}
	return tok
}

// csrfProtect rejects state-changing requests that do not carry the CSRF
// token, or whose Origin is not ours.
func (s *Server) csrfProtect(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if tokenFrom(c) != nil {
		// A Bearer token authenticated the request: a browser never sends
		// one by itself, so a cross-site page cannot forge it (tokens.go),
		// whatever Origin it comes from.
		return c.Next()
	}
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && !s.sameOrigin(origin) {
		return fiber.NewError(fiber.StatusForbidden, "cross-origin request refused")
	}
	sent := c.Get(csrfHeader)
	if sent == "" {
		sent = csrfFromBody(c)
	}
	var want string
	if sess := sessionFrom(c); sess != nil {
		want = sess.CSRFToken
	} else {
		want = c.Cookies(csrfCookie)
	}
	if want == "" || sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(want)) != 1 {
		return fiber.NewError(fiber.StatusForbidden, "missing or invalid CSRF token; reload the page and try again")
	}
	return c.Next()
}

// csrfFromBody reads the token from the request body only (urlencoded,
// multipart or JSON, through readInput). Never from the query string, as
// c.FormValue would: a token in a URL ends up in logs, Referer headers and
// browser history.
func csrfFromBody(c *fiber.Ctx) string {
	in, _ := readInput(c)
	return in.Get(csrfField)
}

func (s *Server) sameOrigin(origin string) bool {
	pu, err := url.Parse(s.cfg.PublicURL)
	if err != nil || pu.Host == "" {
		return false
	}
	ou, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(ou.Scheme, pu.Scheme) && strings.EqualFold(ou.Host, pu.Host)
}

// requireRole lets the request through when the user is logged in with one
// of roles (admin always passes). Pages redirect to the login page; the
// API answers 401/403 in JSON.
func (s *Server) requireRole(roles ...accounts.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sess := sessionFrom(c)
		if sess == nil {
			if wantsJSON(c) {
				return fiber.NewError(fiber.StatusUnauthorized, "log in first")
			}
			return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		if len(roles) == 0 || sess.User.Role == accounts.RoleAdmin {
			return c.Next()
		}
		for _, r := range roles {
			if sess.User.Role == r {
				return c.Next()
			}
		}
		return fiber.NewError(fiber.StatusForbidden, "your role ("+string(sess.User.Role)+") cannot do this")
	}
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

type authForm struct {
	Email, Name, Next, Error string
	Signup                   bool
}

func (s *Server) handleLoginPage(c *fiber.Ctx) error {
	if sessionFrom(c) != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	return s.render(c, "login", "Log in", authForm{Next: c.Query("next"), Signup: s.cfg.AllowSignup})
}

func (s *Server) handleLogin(c *fiber.Ctx) error {
	in, err := readInput(c)
	if err != nil {
		return badInput(err)
	}
	email, password, next := in.Get("email"), in.Get("password"), in.Get("next")
	if old := c.Cookies(sessionCookie); old != "" {
		_ = s.deps.Accounts.Logout(c.UserContext(), old) // rotate: the old session dies
	}
	token, sess, err := s.deps.Accounts.Login(c.UserContext(), email, password, c.IP(), c.Get(fiber.HeaderUserAgent))
	if err != nil {
		status, msg, ok := retryRefusal(c, err) // 429 or 503, with Retry-After
		if !ok {
			status, msg = httpStatus(err) // 401 wrong email or password
		}
		if status == fiber.StatusInternalServerError {
			return err
		}
		if wantsJSON(c) {
			return fiber.NewError(status, msg)
		}
		c.Status(status)
		return s.render(c, "login", "Log in", authForm{Email: email, Next: next, Error: msg, Signup: s.cfg.AllowSignup})
	}
	s.setSessionCookie(c, token, sess.ExpiresAt)
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"user": userJSON(sess.User), "csrf_token": sess.CSRFToken})
	}
	return c.Redirect(safeNext(next), fiber.StatusSeeOther)
}

func (s *Server) handleRegisterPage(c *fiber.Ctx) error {
	if !s.cfg.AllowSignup {
		return fiber.NewError(fiber.StatusForbidden, "sign-up is closed on this server; ask an administrator for an account")
	}
	return s.render(c, "register", "Create an account", authForm{Next: c.Query("next"), Signup: true})
}

func (s *Server) handleRegister(c *fiber.Ctx) error {
	if !s.cfg.AllowSignup {
		return fiber.NewError(fiber.StatusForbidden, "sign-up is closed on this server; ask an administrator for an account")
	}
	in, err := readInput(c)
	if err != nil {
		return badInput(err)
	}
	email, name, password, next := in.Get("email"), in.Get("name"), in.Get("password"), in.Get("next")
	_, err = s.deps.Accounts.CreateUser(c.UserContext(), accounts.NewUser{Email: email, Name: name, Password: password, Role: accounts.RoleCandidate})
	if err != nil {
		status, msg, ok := retryRefusal(c, err) // hashing queue full: 503
		if !ok {
			status, msg = httpStatus(err) // 422: invalid field or email taken
		}
		if status == fiber.StatusInternalServerError {
			return err
		}
		if wantsJSON(c) {
			return fiber.NewError(status, msg)
		}
		c.Status(status)
		return s.render(c, "register", "Create an account", authForm{Email: email, Name: name, Next: next, Error: msg, Signup: true})
	}
	return s.handleLogin(c)
}

func (s *Server) handleLogout(c *fiber.Ctx) error {
	if err := s.deps.Accounts.Logout(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"ok": true})
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}

func (s *Server) handleMe(c *fiber.Ctx) error {
	sess := sessionFrom(c)
	return c.JSON(fiber.Map{"user": userJSON(sess.User), "csrf_token": sess.CSRFToken})
}

// handleCSRF gives API clients the anonymous double-submit token.
func (s *Server) handleCSRF(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"csrf_token": s.csrfToken(c)})
}

func userJSON(u *accounts.User) fiber.Map {
	return fiber.Map{"id": u.ID, "email": u.Email, "name": u.Name, "role": u.Role}
}
