package server

import (
	"context"
	"io"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/authoring"
	"github.com/opsdojo/opsdojo/challenges"
)

// Authoring is the authors' service as the server uses it.
// Uploads belong to their author: the service refuses another author
// with authoring.ErrNotOwner (403); admins act on any.
type Authoring interface {
	Upload(ctx context.Context, by authoring.Actor, name string, data []byte) (authoring.UploadResult, error)
	Publish(ctx context.Context, by authoring.Actor, id string, published bool) error
	StartSelfTest(ctx context.Context, by authoring.Actor, id string, runs int) error
	TestStateOf(id string) *authoring.TestState
}

// authorActor is the logged-in user as the authoring service knows them
// (routes are behind requireRole, so there is a session).
func authorActor(c *fiber.Ctx) authoring.Actor {
	sess := sessionFrom(c)
	if sess == nil {
		return authoring.Actor{}
	}
	return authoring.Actor{UserID: sess.User.ID, Admin: sess.User.Role == accounts.RoleAdmin}
}

// Published tells which challenges are published.
type Published interface {
	ListChallenges(ctx context.Context, publishedOnly bool) ([]attempts.ChallengeRecord, error)
}

// CatalogProblems reports challenge directories that fail to load.
type CatalogProblems interface {
	Problems() map[string]challenges.Problems
}

func (s *Server) registerAuthoring() {
	if s.deps.Authoring == nil || s.deps.Catalog == nil {
		return
	}
	author := s.requireRole(accounts.RoleAuthor)
	s.app.Get("/author", author, s.handleAuthorHome)
	s.app.Post("/author/upload", author, s.handleUpload)
	s.app.Get("/author/challenges/:id", author, s.handleAuthorChallenge)
	s.app.Post("/author/challenges/:id/publish", author, s.handlePublish(true))
	s.app.Post("/author/challenges/:id/unpublish", author, s.handlePublish(false))
	s.app.Post("/author/challenges/:id/selftest", author, s.handleSelfTest)

	api := s.app.Group("/api/v1/author", author)
	api.Get("/challenges", s.handleAuthorHome)
	api.Post("/upload", s.handleUpload)
	api.Get("/challenges/:id", s.handleAuthorChallenge)
	api.Post("/challenges/:id/publish", s.handlePublish(true))
	api.Post("/challenges/:id/unpublish", s.handlePublish(false))
	api.Post("/challenges/:id/selftest", s.handleSelfTest)
}

// publishedSet returns the ids of published challenges.
func (s *Server) publishedSet(ctx context.Context) (map[string]bool, error) {
	if s.deps.Published == nil {
		return nil, nil // no store: everything the catalog has is visible
	}
	cs, err := s.deps.Published.ListChallenges(ctx, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(cs))
	for _, c := range cs {
		out[c.ID] = true
	}
	return out, nil
}

// canSeeUnpublished: staff preview unpublished challenges.
func canSeeUnpublished(c *fiber.Ctx) bool {
	sess := sessionFrom(c)
	return sess != nil && sess.User.Role != accounts.RoleCandidate
}

// visible reports whether the request may see challenge id.
func (s *Server) visible(c *fiber.Ctx, id string) (bool, error) {
	if canSeeUnpublished(c) {
		return true, nil
	}
	pub, err := s.publishedSet(c.UserContext())
	if err != nil || pub == nil {
		return pub == nil, err
	}
	return pub[id], nil
}

type authorRow struct {
	ID, Title, Kind, Version, Dir string `json:",omitempty"`
	Published                     bool
	Testing                       bool
	TestOK                        *bool `json:",omitempty"`
}

type authorHome struct {
	Challenges []authorRow
	Broken     []brokenDir
}

type brokenDir struct {
	Dir      string
	Problems []string
}

func (s *Server) handleAuthorHome(c *fiber.Ctx) error {
	pub, err := s.publishedSet(c.UserContext())
	if err != nil {
		return err
	}
	var page authorHome
	for _, ch := range s.deps.Catalog.List(challenges.Filter{}) {
		row := authorRow{ID: ch.ID, Title: ch.Title, Kind: string(ch.Kind), Version: ch.Version[:12], Dir: filepath.Base(ch.Dir), Published: pub == nil || pub[ch.ID]}
		if st := s.deps.Authoring.TestStateOf(ch.ID); st != nil {
			row.Testing = st.Running
			if st.Report != nil {
				ok := st.Report.OK()
				row.TestOK = &ok
			}
		}
		page.Challenges = append(page.Challenges, row)
	}
	if cp, ok := s.deps.Catalog.(CatalogProblems); ok {
		for dir, ps := range cp.Problems() {
			// Named by the directory's name, files relative to it: the
			// server's own paths are not the author's business.
			b := brokenDir{Dir: filepath.Base(dir)}
			for _, p := range ps {
				b.Problems = append(b.Problems, authoring.RelativePaths(p.String(), dir))
			}
			page.Broken = append(page.Broken, b)
		}
		sort.Slice(page.Broken, func(i, j int) bool { return page.Broken[i].Dir < page.Broken[j].Dir })
	}
	if wantsJSON(c) {
		return c.JSON(page)
	}
	return s.render(c, "author", "Authoring", page)
}

type uploadPage struct {
	Result authoring.UploadResult
	Error  string
}

func (s *Server) handleUpload(c *fiber.Ctx) error {
	fh, err := c.FormFile("archive")
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "attach the challenge as a form file named \"archive\" (.tar.gz or .zip)")
	}
	if fh.Size > authoring.MaxUploadBytes {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "the archive is larger than "+strconv.Itoa(authoring.MaxUploadBytes>>20)+" MiB")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, authoring.MaxUploadBytes+1))
	if err != nil {
		return err
	}
	res, err := s.deps.Authoring.Upload(c.UserContext(), authorActor(c), fh.Filename, data)
	if err != nil {
		status, msg := httpStatus(err)
		if wantsJSON(c) || status >= 500 {
			return err
		}
		c.Status(status)
		return s.render(c, "author_upload", "Upload", uploadPage{Error: msg})
	}
	problems := make([]string, 0, len(res.Problems))
	for _, p := range res.Problems {
		problems = append(problems, p.String())
	}
	if wantsJSON(c) {
		status := fiber.StatusCreated
		if len(problems) > 0 {
			status = fiber.StatusUnprocessableEntity
		}
		return c.Status(status).JSON(fiber.Map{"id": res.ID, "version": res.Version, "problems": problems})
	}
	if len(problems) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return s.render(c, "author_upload", "Upload", uploadPage{Result: res})
	}
	return c.Redirect("/author/challenges/"+res.ID, fiber.StatusSeeOther)
}

type authorChallengePage struct {
	Item      catalogItem
	Version   string
	Published bool
	Test      *authoring.TestState
}

func (s *Server) handleAuthorChallenge(c *fiber.Ctx) error {
	ch, ok := s.deps.Catalog.Get(c.Params("id"))
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "no challenge named "+strconv.Quote(c.Params("id"))+" is loaded; see the lint problems on /author")
	}
	pub, err := s.publishedSet(c.UserContext())
	if err != nil {
		return err
	}
	page := authorChallengePage{Item: itemOf(ch), Version: ch.Version, Published: pub == nil || pub[ch.ID], Test: s.deps.Authoring.TestStateOf(ch.ID)}
	if wantsJSON(c) {
		out := fiber.Map{"challenge": page.Item, "version": page.Version, "published": page.Published}
		if page.Test != nil {
			out["selftest"] = fiber.Map{"running": page.Test.Running, "report": page.Test.Text}
		}
		return c.JSON(out)
	}
	return s.render(c, "author_challenge", ch.Title, page)
}

func (s *Server) handlePublish(published bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.deps.Authoring.Publish(c.UserContext(), authorActor(c), c.Params("id"), published); err != nil {
			return err
		}
		if wantsJSON(c) {
			return c.JSON(fiber.Map{"id": c.Params("id"), "published": published})
		}
		return c.Redirect("/author/challenges/"+c.Params("id"), fiber.StatusSeeOther)
	}
}

func (s *Server) handleSelfTest(c *fiber.Ctx) error {
	runs := 1
	in, err := readInput(c)
	if err != nil {
		return badInput(err)
	}
	v := in.Get("runs")
	if v == "" {
		v = c.Query("runs") // a number of runs is no secret
	}
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return fiber.NewError(fiber.StatusBadRequest, "runs must be 1 to 5")
		}
		runs = n
	}
	if err := s.deps.Authoring.StartSelfTest(c.UserContext(), authorActor(c), c.Params("id"), runs); err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": c.Params("id"), "running": true})
	}
	return c.Redirect("/author/challenges/"+c.Params("id"), fiber.StatusSeeOther)
}
