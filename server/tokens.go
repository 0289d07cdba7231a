package server

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
)

// APITokens is what the server needs for personal access tokens.
type APITokens interface {
	Create(ctx context.Context, sess *accounts.Session, viaToken *accounts.APIToken, in accounts.NewAPIToken) (string, *accounts.APIToken, error)
	Authenticate(ctx context.Context, raw string) (*accounts.Session, *accounts.APIToken, error)
	List(ctx context.Context, sess *accounts.Session) ([]accounts.APIToken, error)
	Revoke(ctx context.Context, sess *accounts.Session, viaToken *accounts.APIToken, id string) error
}

const localsToken = "apitoken"

// tokenFrom returns the token the request authenticated with, or nil (a
// cookie session, or none).
func tokenFrom(c *fiber.Ctx) *accounts.APIToken {
	t, _ := c.Locals(localsToken).(*accounts.APIToken)
	return t
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(c *fiber.Ctx) (string, bool) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// authenticateBearer serves a request that carries a Bearer token: it is
// the whole authentication (cookies are ignored, none is set), it reaches
// /api/v1 only, and the token's scope must allow the method and route.
// Browsers never attach this header on their own, so such a request needs
// no CSRF token (csrfProtect skips it).
func (s *Server) authenticateBearer(c *fiber.Ctx, raw string) error {
	if s.deps.Tokens == nil {
		return fiber.NewError(fiber.StatusUnauthorized, "API tokens are not enabled on this server")
	}
	rest, ok := strings.CutPrefix(c.Path(), "/api/v1/")
	if !ok {
		return fiber.NewError(fiber.StatusForbidden, "API tokens work on /api/v1 only; use a browser session for pages")
	}
	switch strings.Trim(rest, "/") {
	case "login", "register", "logout", "logout-all", "csrf":
		// Session routes: a Bearer request never makes or ends a cookie session.
		return fiber.NewError(fiber.StatusForbidden, "API tokens do not open or end browser sessions; call "+c.Path()+" without the Authorization header")
	}
	sess, tok, err := s.deps.Tokens.Authenticate(c.UserContext(), raw)
	if err != nil {
		return err
	}
	if !tok.Scope.Allows(c.Method(), rest) {
		return fiber.NewError(fiber.StatusForbidden, "this API token's scope ("+string(tok.Scope)+") does not allow "+c.Method()+" "+c.Path())
	}
	c.Locals(localsSession, sess)
	c.Locals(localsToken, tok)
	return c.Next()
}

// registerTokens mounts the token routes: the API and the account page.
func (s *Server) registerTokens() {
	if s.deps.Tokens == nil {
		return
	}
	s.app.Get("/account/tokens", s.requireRole(), s.handleTokensPage)
	s.app.Post("/account/tokens", s.requireRole(), s.handleCreateToken)
	s.app.Post("/account/tokens/:id/revoke", s.requireRole(), s.handleRevokeToken)
	s.app.Get("/api/v1/tokens", s.requireRole(), s.handleListTokens)
	s.app.Post("/api/v1/tokens", s.requireRole(), s.handleCreateToken)
	s.app.Delete("/api/v1/tokens/:id", s.requireRole(), s.handleRevokeToken)
}

type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toTokenJSON(t accounts.APIToken) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scope: string(t.Scope), CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt}
}

type tokensPage struct {
	Tokens  []tokenJSON
	New     string // the token just created, shown once
	Error   string
	Revoked bool
}

func (s *Server) tokenList(c *fiber.Ctx) ([]tokenJSON, error) {
	list, err := s.deps.Tokens.List(c.UserContext(), sessionFrom(c))
	if err != nil {
		return nil, err
	}
	out := make([]tokenJSON, 0, len(list))
	for _, t := range list {
		out = append(out, toTokenJSON(t))
	}
	return out, nil
}

func (s *Server) handleTokensPage(c *fiber.Ctx) error {
	list, err := s.tokenList(c)
	if err != nil {
		return err
	}
	return s.render(c, "tokens", "API tokens", tokensPage{Tokens: list, Revoked: c.Query("revoked") != ""})
}

func (s *Server) handleListTokens(c *fiber.Ctx) error {
	list, err := s.tokenList(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tokens": list})
}

// parseNewToken reads name, scope and expires_in_days (0 or empty: never).
func parseNewToken(c *fiber.Ctx) (accounts.NewAPIToken, error) {
	in, err := readInput(c)
	if err != nil {
		return accounts.NewAPIToken{}, badInput(err)
	}
	scope, err := accounts.ParseScope(in.Get("scope"))
	if err != nil {
		return accounts.NewAPIToken{}, err
	}
	out := accounts.NewAPIToken{Name: in.Get("name"), Scope: scope}
	if v := strings.TrimSpace(in.Get("expires_in_days")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return out, &accounts.ValidationError{Field: "expires_in_days", Msg: strconv.Quote(v) + " is not a whole number of days (0: never)"}
		}
		out.TTL = time.Duration(n) * 24 * time.Hour
	}
	return out, nil
}

func (s *Server) handleCreateToken(c *fiber.Ctx) error {
	in, err := parseNewToken(c)
	var raw string
	var rec *accounts.APIToken
	if err == nil {
		raw, rec, err = s.deps.Tokens.Create(c.UserContext(), sessionFrom(c), tokenFrom(c), in)
	}
	if err != nil {
		if wantsJSON(c) {
			return err
		}
		status, msg := httpStatus(err)
		if status == fiber.StatusInternalServerError {
			return err
		}
		list, lerr := s.tokenList(c)
		if lerr != nil {
			return lerr
		}
		c.Status(status)
		return s.render(c, "tokens", "API tokens", tokensPage{Tokens: list, Error: msg})
	}
	if wantsJSON(c) {
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"token": raw, "api_token": toTokenJSON(*rec)})
	}
	list, err := s.tokenList(c)
	if err != nil {
		return err
	}
	return s.render(c, "tokens", "API tokens", tokensPage{Tokens: list, New: raw})
}

func (s *Server) handleRevokeToken(c *fiber.Ctx) error {
	if err := s.deps.Tokens.Revoke(c.UserContext(), sessionFrom(c), tokenFrom(c), c.Params("id")); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"revoked": true})
	}
	return c.Redirect("/account/tokens?revoked="+url.QueryEscape("1"), fiber.StatusSeeOther)
}
