package server

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"sort"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/yuin/goldmark"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
)

// Catalog is the challenge catalog as the server reads it.
type Catalog interface {
	Get(id string) (*challenges.Challenge, bool)
	List(f challenges.Filter) []*challenges.Challenge
}

// Attempts is the attempts service as the server uses it.
type Attempts interface {
	Start(ctx context.Context, challengeID string, o attempts.StartOptions) (*attempts.Attempt, error)
	Get(ctx context.Context, attemptID, userID string) (*attempts.Attempt, error)
	History(ctx context.Context, userID string) ([]attempts.Attempt, error)
	Challenge(a *attempts.Attempt) (*challenges.Challenge, error)
	Check(ctx context.Context, a *attempts.Attempt) (*attempts.GradingJob, error)
	Wait(ctx context.Context, jobID string) (*attempts.GradingJob, *attempts.CheckRun, error)
	// Results is the attempt's latest check run as its candidate may see
	// it (the attempt's policy decides).
	Results(ctx context.Context, a *attempts.Attempt) (*attempts.CheckRun, error)
	Hints(ctx context.Context, a *attempts.Attempt) ([]attempts.HintView, error)
	RevealHint(ctx context.Context, a *attempts.Attempt, i int) (attempts.HintView, error)
	HintCost(ctx context.Context, a *attempts.Attempt) (int, error)
	Reset(ctx context.Context, a *attempts.Attempt) error
	Files(a *attempts.Attempt) ([]attempts.EditableFile, error)
	ReadFile(ctx context.Context, a *attempts.Attempt, p string) ([]byte, error)
	WriteFile(ctx context.Context, a *attempts.Attempt, p string, content []byte) error
	Deadline(a *attempts.Attempt) time.Time
}

// resumer restores a hibernated sandbox (the attempts service; optional so
// that test doubles of Attempts need not implement it).
type resumer interface {
	Resume(ctx context.Context, a *attempts.Attempt) error
}

// resume wakes the sandbox of the owner's active attempt before the page
// opens a terminal on it. A sandbox that is gone is not an error here: the
// page shows, and Check answers 410 with a plain message.
func (s *Server) resume(c *fiber.Ctx, a *attempts.Attempt) {
	r, ok := s.deps.Attempts.(resumer)
	if !ok || a.State != attempts.StateActive || a.SandboxID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Minute)
	defer cancel()
	if err := r.Resume(ctx, a); err != nil && !errors.Is(err, attempts.ErrSandboxGone) && !errors.Is(err, attempts.ErrNotActive) {
		s.log.Warn("resume sandbox for the workspace", "attempt", a.ID, "err", err)
	}
}

// checkWait bounds how long a Check request waits for its grading job.
const checkWait = 2 * time.Minute

func (s *Server) registerPractice() {
	if s.deps.Catalog == nil || s.deps.Attempts == nil {
		return
	}
	s.app.Get("/challenges", s.handleCatalog)
	s.app.Get("/challenges/:id", s.handleChallenge)
	s.app.Post("/challenges/:id/start", s.requireRole(), s.handleStart)
	s.app.Get("/attempts/:id", s.requireRole(), s.handleWorkspace)
	s.app.Get("/me/attempts", s.requireRole(), s.handleHistory)

	api := s.app.Group("/api/v1")
	api.Get("/challenges", s.handleCatalog)
	api.Get("/challenges/:id", s.handleChallenge)
	api.Post("/challenges/:id/attempts", s.requireRole(), s.handleStart)
	api.Get("/attempts", s.requireRole(), s.handleHistory)
	api.Get("/attempts/:id", s.requireRole(), s.handleAttemptJSON)
	api.Post("/attempts/:id/check", s.requireRole(), s.handleCheck)
	api.Get("/attempts/:id/results", s.requireRole(), s.handleResults)
	api.Post("/attempts/:id/hints/:n", s.requireRole(), s.handleHint)
	api.Post("/attempts/:id/reset", s.requireRole(), s.handleReset)
	api.Get("/attempts/:id/files", s.requireRole(), s.handleReadFile)
	api.Put("/attempts/:id/files", s.requireRole(), s.handleWriteFile)
}

// ---- catalog ----

type catalogItem struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Kind       string   `json:"kind"`
	Difficulty string   `json:"difficulty"`
	Tags       []string `json:"tags"`
	TimeLimit  string   `json:"time_limit"`
	Points     int      `json:"points"`
}

func itemOf(ch *challenges.Challenge) catalogItem {
	return catalogItem{ID: ch.ID, Title: ch.Title, Kind: string(ch.Kind), Difficulty: string(ch.Difficulty), Tags: ch.Tags, TimeLimit: ch.TimeLimit.String(), Points: ch.TotalPoints()}
}

type catalogPage struct {
	Items                 []catalogItem
	Kind, Difficulty, Tag string
	Kinds, Difficulties   []string
	Tags                  []string
}

func (s *Server) handleCatalog(c *fiber.Ctx) error {
	f := challenges.Filter{Kind: challenges.Kind(c.Query("kind")), Difficulty: challenges.Difficulty(c.Query("difficulty")), Tag: c.Query("tag")}
	pub, err := s.publishedSet(c.UserContext())
	if err != nil {
		return err
	}
	staff := canSeeUnpublished(c)
	shown := func(id string) bool { return staff || pub == nil || pub[id] }
	var all []*challenges.Challenge
	for _, ch := range s.deps.Catalog.List(challenges.Filter{}) {
		if shown(ch.ID) {
			all = append(all, ch)
		}
	}
	list := s.deps.Catalog.List(f)
	items := make([]catalogItem, 0, len(list))
	for _, ch := range list {
		if shown(ch.ID) {
			items = append(items, itemOf(ch))
		}
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"challenges": items})
	}
	tagSet := map[string]bool{}
	for _, ch := range all {
		for _, t := range ch.Tags {
			tagSet[t] = true
		}
	}
	tags := make([]string, 0, len(tagSet))
	for t := range tagSet {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	page := catalogPage{Items: items, Kind: c.Query("kind"), Difficulty: c.Query("difficulty"), Tag: c.Query("tag"), Tags: tags}
	for _, k := range challenges.Kinds {
		page.Kinds = append(page.Kinds, string(k))
	}
	for _, d := range challenges.Difficulties {
		page.Difficulties = append(page.Difficulties, string(d))
	}
	return s.render(c, "catalog", "Challenges", page)
}

func renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	// goldmark drops raw HTML unless WithUnsafe is set: author Markdown
	// cannot inject script into the candidate's page.
	if err := goldmark.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(buf.String()) //nolint:gosec // goldmark output without raw HTML
}

type challengePage struct {
	Item        catalogItem
	Description template.HTML
	Hints       int
	Attempts    []attempts.Attempt
}

func (s *Server) handleChallenge(c *fiber.Ctx) error {
	ch, ok := s.deps.Catalog.Get(c.Params("id"))
	if ok {
		vis, err := s.visible(c, ch.ID)
		if err != nil {
			return err
		}
		ok = vis
	}
	if !ok {
		return fiber.NewError(fiber.StatusNotFound, "no challenge named "+strconv.Quote(c.Params("id")))
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"challenge": itemOf(ch), "description": ch.Description, "hints": len(ch.Hints)})
	}
	page := challengePage{Item: itemOf(ch), Description: renderMarkdown(ch.Description), Hints: len(ch.Hints)}
	if sess := sessionFrom(c); sess != nil {
		hist, err := s.deps.Attempts.History(c.UserContext(), sess.User.ID)
		if err != nil {
			return err
		}
		for _, a := range hist {
			if a.ChallengeID == ch.ID {
				page.Attempts = append(page.Attempts, a)
			}
		}
	}
	return s.render(c, "challenge", ch.Title, page)
}

// ---- attempts ----

// attemptFor loads the attempt of the URL for the logged-in user: their
// own; any for admins; for managers, the attempts of their own
// assignments' candidates. Everything else answers 404, like a missing id.
func (s *Server) attemptFor(c *fiber.Ctx) (*attempts.Attempt, error) {
	a, err := s.deps.Attempts.Get(c.UserContext(), c.Params("id"), "")
	if err != nil {
		return nil, err
	}
	if err := s.mayReview(c, a); err != nil {
		return nil, err
	}
	return a, nil
}

// reviewChecker is implemented by the assignments service.
type reviewChecker interface {
	CanReview(ctx context.Context, actor assignments.Actor, attemptID string) error
}

// mayReview says whether the session may look at attempt a (its page,
// results, files, recordings): its owner, an admin, or the manager of the
// assignment it belongs to.
func (s *Server) mayReview(c *fiber.Ctx, a *attempts.Attempt) error {
	sess := sessionFrom(c)
	notFound := fiber.NewError(fiber.StatusNotFound, "not found: attempt "+a.ID)
	switch {
	case sess == nil:
		return fiber.NewError(fiber.StatusUnauthorized, "log in first")
	case a.UserID != nil && *a.UserID == sess.User.ID, sess.User.Role == accounts.RoleAdmin:
		return nil
	case sess.User.Role == accounts.RoleManager:
		if rc, ok := s.deps.Review.Service.(reviewChecker); ok {
			if err := rc.CanReview(c.UserContext(), assignments.Actor{ID: sess.User.ID, Role: sess.User.Role}, a.ID); err == nil {
				return nil
			}
		}
	}
	return notFound
}

// ownAttempt is attemptFor but only the owner may act (check, edit, reset).
func (s *Server) ownAttempt(c *fiber.Ctx) (*attempts.Attempt, error) {
	a, err := s.deps.Attempts.Get(c.UserContext(), c.Params("id"), sessionFrom(c).User.ID)
	return a, err
}

func (s *Server) handleStart(c *fiber.Ctx) error {
	sess := sessionFrom(c)
	if vis, err := s.visible(c, c.Params("id")); err != nil {
		return err
	} else if !vis {
		return fiber.NewError(fiber.StatusNotFound, "no challenge named "+strconv.Quote(c.Params("id")))
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Minute)
	defer cancel()
	a, err := s.deps.Attempts.Start(ctx, c.Params("id"), attempts.StartOptions{UserID: sess.User.ID, Mode: attempts.ModePractice})
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"attempt": attemptJSON(a)})
	}
	return c.Redirect("/attempts/"+a.ID, fiber.StatusSeeOther)
}

func attemptJSON(a *attempts.Attempt) fiber.Map {
	return fiber.Map{"id": a.ID, "challenge": a.ChallengeID, "version": a.ChallengeVersion, "mode": a.Mode, "state": a.State,
		"score": a.Score, "max_score": a.MaxScore, "started_at": a.StartedAt, "ended_at": a.EndedAt, "deadline_at": a.DeadlineAt}
}

func (s *Server) handleHistory(c *fiber.Ctx) error {
	hist, err := s.deps.Attempts.History(c.UserContext(), sessionFrom(c).User.ID)
	if err != nil {
		return err
	}
	if wantsJSON(c) {
		out := make([]fiber.Map, 0, len(hist))
		for i := range hist {
			out = append(out, attemptJSON(&hist[i]))
		}
		return c.JSON(fiber.Map{"attempts": out})
	}
	return s.render(c, "history", "My attempts", hist)
}

func (s *Server) handleAttemptJSON(c *fiber.Ctx) error {
	a, err := s.attemptFor(c)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"attempt": attemptJSON(a)})
}

type workspacePage struct {
	Attempt     *attempts.Attempt
	Item        catalogItem
	Description template.HTML
	Hints       []attempts.HintView
	Files       []attempts.EditableFile
	Deadline    time.Time
	Results     *resultsView
	Owner       bool
	Restored    bool // the sandbox was restored from hibernation for this page
}

// withChallenge returns the challenge version of an attempt loaded by load.
func (s *Server) withChallenge(a *attempts.Attempt, err error) (*attempts.Attempt, *challenges.Challenge, error) {
	if err != nil {
		return nil, nil, err
	}
	ch, err := s.deps.Attempts.Challenge(a)
	if err != nil {
		return nil, nil, err
	}
	return a, ch, nil
}

func (s *Server) handleWorkspace(c *fiber.Ctx) error {
	a, ch, err := s.withChallenge(s.attemptFor(c))
	if err != nil {
		return err
	}
	hints, err := s.deps.Attempts.Hints(c.UserContext(), a)
	if err != nil {
		return err
	}
	owner := a.UserID != nil && *a.UserID == sessionFrom(c).User.ID
	was := a.SandboxID
	if owner {
		s.resume(c, a)
	}
	files, _ := s.deps.Attempts.Files(a)
	page := workspacePage{Attempt: a, Item: itemOf(ch), Description: renderMarkdown(ch.Description), Hints: hints, Files: files,
		Deadline: s.deps.Attempts.Deadline(a), Owner: a.UserID != nil && *a.UserID == sessionFrom(c).User.ID,
		Restored: a.SandboxID != was}
	if run, err := s.deps.Attempts.Results(c.UserContext(), a); err == nil {
		page.Results = s.resultsOf(c, a, run)
	}
	return s.render(c, "workspace", ch.Title, page)
}

// resultsView is a check run as the candidate sees it.
type resultsView struct {
	Score, MaxScore, HintCost int
	Checks                    []checkView
	At                        time.Time
}

type checkView struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Passed   bool   `json:"passed"`
	TimedOut bool   `json:"timed_out"`
	Points   int    `json:"points"`
	Max      int    `json:"max_points"`
	Message  string `json:"message"`
}

func (s *Server) resultsOf(c *fiber.Ctx, a *attempts.Attempt, run *attempts.CheckRun) *resultsView {
	v := &resultsView{Score: run.Score, MaxScore: run.MaxScore, At: run.FinishedAt}
	v.HintCost, _ = s.deps.Attempts.HintCost(c.UserContext(), a)
	for _, r := range run.Results {
		// run is already what the candidate may see (attempts.Service.Visible).
		v.Checks = append(v.Checks, checkView{ID: r.CheckID, Title: r.Title, Passed: r.Passed, TimedOut: r.TimedOut, Points: r.Points, Max: r.MaxPoints, Message: r.Message})
	}
	return v
}

func (v *resultsView) json() fiber.Map {
	return fiber.Map{"score": v.Score, "max_score": v.MaxScore, "hint_cost": v.HintCost, "checks": v.Checks, "finished_at": v.At}
}

func (s *Server) handleCheck(c *fiber.Ctx) error {
	a, _, err := s.withChallenge(s.ownAttempt(c))
	if err != nil {
		return err
	}
	job, err := s.deps.Attempts.Check(c.UserContext(), a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), checkWait)
	defer cancel()
	j, run, err := s.deps.Attempts.Wait(ctx, job.ID)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"job": job.ID, "state": "queued", "detail": "grading is still running; fetch the results in a moment"})
		}
		return err
	}
	if run == nil {
		// Nothing was stored: the sandbox is gone (410) or the checks
		// could not run (503); the best score stands.
		return attempts.JobError(j)
	}
	out := s.resultsOf(c, a, run).json()
	s.pushCheck(a.ID, out)
	return c.JSON(out)
}

func (s *Server) handleResults(c *fiber.Ctx) error {
	a, _, err := s.withChallenge(s.attemptFor(c))
	if err != nil {
		return err
	}
	run, err := s.deps.Attempts.Results(c.UserContext(), a)
	if err != nil {
		return err
	}
	return c.JSON(s.resultsOf(c, a, run).json())
}

func (s *Server) handleHint(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "hint number must be a whole number")
	}
	h, err := s.deps.Attempts.RevealHint(c.UserContext(), a, n)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"index": h.Index, "cost": h.Cost, "text": h.Text})
}

func (s *Server) handleReset(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Minute)
	defer cancel()
	old := a.SandboxID
	s.closeTerminals(c, old, "the sandbox was reset; reconnecting to the fresh one")
	if err := s.deps.Attempts.Reset(ctx, a); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"attempt": attemptJSON(a)})
}

func (s *Server) handleReadFile(c *fiber.Ctx) error {
	a, err := s.attemptFor(c)
	if err != nil {
		return err
	}
	data, err := s.deps.Attempts.ReadFile(c.UserContext(), a, c.Query("path"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"path": c.Query("path"), "content": string(data)})
}

func (s *Server) handleWriteFile(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	in, err := readInput(c)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "expected JSON {\"content\": \"…\"} or a form field content: "+err.Error())
	}
	body := struct{ Content string }{in.Get("content")}
	if err := s.deps.Attempts.WriteFile(c.UserContext(), a, c.Query("path"), []byte(body.Content)); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"path": c.Query("path"), "saved": len(body.Content)})
}
