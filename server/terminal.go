package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/terminal"
)

// Terminal route settings.
const (
	wsHandshakeTimeout = 10 * time.Second
	wsReadBuffer       = 4 << 10
	wsWriteBuffer      = terminal.OutputChunkBytes
)

// RecordingFinder looks up recording metadata (the store implements it).
type RecordingFinder interface {
	RecordingByID(ctx context.Context, id string) (*recording.Meta, error)
}

// RecordingFiles opens recorded sessions by the path stored in their row
// (implemented by *recording.Recorder).
type RecordingFiles interface {
	// Open returns the asciicast v2 text (decompressed).
	Open(rel string) (io.ReadCloser, error)
	// OpenCompressed returns the stored .cast.gz bytes.
	OpenCompressed(rel string) (io.ReadCloser, error)
}

// TerminalDeps carries what the terminal routes need. With Hub and Tickets
// nil no terminal route is mounted.
type TerminalDeps struct {
	Hub     *terminal.Hub
	Tickets *terminal.Tickets

	// AuthorizeTerminal decides, for a request behind the web app's login
	// middleware, whether it may open terminals of attemptID, and returns
	// the user and the attempt's sandbox. Return a *fiber.Error (403, 404)
	// to refuse. Nil leaves the ticket and page routes unmounted; the
	// websocket itself is authorised by tickets only.
	AuthorizeTerminal func(c *fiber.Ctx, attemptID string) (userID, sandboxID string, err error)

	// Recordings and RecordingFiles serve the replay pages;
	// AuthorizeReplay says whether the request may see a recording of
	// attemptID (reviewers). Any of them nil leaves the replay routes
	// unmounted.
	Recordings      RecordingFinder
	RecordingFiles  RecordingFiles
	AuthorizeReplay func(c *fiber.Ctx, attemptID string) error
}

// TerminalTicket is what the browser needs to open one terminal.
type TerminalTicket struct {
	Ticket    string `json:"ticket"`
	URL       string `json:"url"` // path of the websocket, ticket included
	ExpiresIn int    `json:"expires_in"`
}

// IssueTerminalTicket issues a single-use ticket for terminal term of the
// attempt's sandbox. Call it only after authenticating userID and checking
// that the attempt is theirs and active.
func (s *Server) IssueTerminalTicket(userID, attemptID, sandboxID, term string) (TerminalTicket, error) {
	tk := s.deps.Terminal.Tickets
	if tk == nil {
		return TerminalTicket{}, errors.New("issue terminal ticket: terminals are not configured")
	}
	t, err := tk.Issue(userID, attemptID, sandboxID, term)
	if err != nil {
		return TerminalTicket{}, err
	}
	return TerminalTicket{
		Ticket:    t,
		URL:       TerminalPath(attemptID, term) + "?ticket=" + url.QueryEscape(t),
		ExpiresIn: int(tk.TTL() / time.Second),
	}, nil
}

// TerminalPath is the websocket path of terminal term of attemptID.
func TerminalPath(attemptID, term string) string {
	return "/ws/terminal/" + url.PathEscape(attemptID) + "/" + url.PathEscape(term)
}

// registerTerminal mounts the terminal routes (websocket, tickets, pages,
// replay).
func (s *Server) registerTerminal() {
	td := s.deps.Terminal
	if td.Hub != nil && td.Tickets != nil {
		allowed := s.wsOrigins()
		s.app.Get("/ws/terminal/:attempt/:term", s.requireUpgrade(allowed), websocket.New(s.handleTerminalWS, websocket.Config{
			Origins:          allowed,
			HandshakeTimeout: wsHandshakeTimeout,
			ReadBufferSize:   wsReadBuffer,
			WriteBufferSize:  wsWriteBuffer,
			WriteBufferPool:  &sync.Pool{},
		}))
		if td.AuthorizeTerminal != nil {
			s.app.Post("/api/v1/attempts/:attempt/terminals/:term/ticket", s.handleTerminalTicket)
			s.app.Get("/attempts/:attempt/terminal", s.handleTerminalPage)
		}
	}
	if td.Recordings != nil && td.RecordingFiles != nil && td.AuthorizeReplay != nil {
		s.app.Get("/recordings/:id", s.handleReplayPage)
		s.app.Get("/recordings/:id/cast", s.handleRecordingCast)
		s.app.Get("/recordings/:id/download", s.handleRecordingDownload)
	}
}

// wsOrigins is the configured public URL's origin. Without a public URL no
// browser origin is accepted (never "*").
func (s *Server) wsOrigins() []string {
	u, err := url.Parse(s.cfg.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		s.log.Warn("no valid public URL: browser terminals will be refused", "public_url", s.cfg.PublicURL)
		return []string{"invalid:no-public-url-configured"}
	}
	return []string{u.Scheme + "://" + u.Host}
}

// requireUpgrade refuses plain requests and foreign origins with a clear
// status before the websocket library's own (identical) origin check.
func (s *Server) requireUpgrade(allowed []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.NewError(fiber.StatusUpgradeRequired, "websocket upgrade required")
		}
		if !slices.Contains(allowed, c.Get(fiber.HeaderOrigin)) {
			s.log.Info("websocket origin refused", "origin", c.Get(fiber.HeaderOrigin), "ip", c.IP())
			return fiber.NewError(fiber.StatusForbidden, "websocket origin not allowed")
		}
		return c.Next()
	}
}

func (s *Server) handleTerminalWS(conn *websocket.Conn) {
	td := s.deps.Terminal
	g, err := td.Tickets.Redeem(conn.Query("ticket"))
	if err != nil {
		reason := "invalid ticket: unknown or already used; request a new one"
		if errors.Is(err, terminal.ErrTicketExpired) {
			reason = "ticket expired; request a new one"
		}
		s.log.Info("terminal ticket refused", "ip", conn.IP(), "err", err)
		terminal.Reject(conn.Conn, terminal.CloseTicket, reason)
		return
	}
	if g.AttemptID != conn.Params("attempt") || g.Term != conn.Params("term") {
		terminal.Reject(conn.Conn, terminal.CloseTicket, "ticket is for another terminal")
		return
	}
	cols, _ := strconv.Atoi(conn.Query("cols"))
	rows, _ := strconv.Atoi(conn.Query("rows"))
	// A hijacked connection has no request context; this one ends with it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tc := td.Hub.NewConn(conn.Conn, g, terminal.Size{Cols: cols, Rows: rows})
	defer s.hijack.Add(tc, g.UserID)()
	tc.Run(ctx)
}

func (s *Server) authorizeTerminal(c *fiber.Ctx) (attemptID, term, userID, sandboxID string, err error) {
	attemptID, term = c.Params("attempt"), c.Params("term", "1")
	if !terminal.ValidTermName(term) {
		return "", "", "", "", fiber.NewError(fiber.StatusBadRequest, "bad terminal name")
	}
	userID, sandboxID, err = s.deps.Terminal.AuthorizeTerminal(c, attemptID)
	if err != nil {
		return "", "", "", "", err
	}
	if sandboxID == "" {
		return "", "", "", "", fiber.NewError(fiber.StatusConflict, "this attempt has no running sandbox")
	}
	if reason, sealed := s.deps.Terminal.Hub.Sealed(attemptID); sealed { // frozen here even if the database lags
		return "", "", "", "", fiber.NewError(fiber.StatusConflict, "terminal closed: "+reason)
	}
	return attemptID, term, userID, sandboxID, nil
}

func (s *Server) handleTerminalTicket(c *fiber.Ctx) error {
	attemptID, term, userID, sandboxID, err := s.authorizeTerminal(c)
	if err != nil {
		return err
	}
	tk, err := s.IssueTerminalTicket(userID, attemptID, sandboxID, term)
	if err != nil {
		return err // terminal.ErrTooManyTickets: 503
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(tk)
}

// terminalPage is the data of templates/terminal.html.
type terminalPage struct {
	AttemptID     string
	TicketURL     string // with {term} where the terminal name goes
	MaxTerminals  int
	FirstTerminal string
}

func (s *Server) handleTerminalPage(c *fiber.Ctx) error {
	attemptID := c.Params("attempt")
	if _, _, err := s.deps.Terminal.AuthorizeTerminal(c, attemptID); err != nil {
		return err
	}
	return s.render(c, "terminal", "Terminal", terminalPage{
		AttemptID:     attemptID,
		TicketURL:     "/api/v1/attempts/" + url.PathEscape(attemptID) + "/terminals/{term}/ticket",
		MaxTerminals:  s.deps.Terminal.Hub.MaxPerSandbox(),
		FirstTerminal: "1",
	})
}

// replayPage is the data of templates/replay.html.
type replayPage struct {
	Recording   *recording.Meta
	CastURL     string
	DownloadURL string
	Duration    string
}

func (s *Server) recordingFor(c *fiber.Ctx) (*recording.Meta, error) {
	rec, err := s.deps.Terminal.Recordings.RecordingByID(c.UserContext(), c.Params("id"))
	if err != nil {
		if apperr.ErrorCode(err) == apperr.NotFound {
			return nil, fiber.NewError(fiber.StatusNotFound, "recording not found")
		}
		return nil, fmt.Errorf("recording: %w", err)
	}
	if err := s.deps.Terminal.AuthorizeReplay(c, rec.AttemptID); err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Server) handleReplayPage(c *fiber.Ctx) error {
	rec, err := s.recordingFor(c)
	if err != nil {
		return err
	}
	base := "/recordings/" + url.PathEscape(rec.ID)
	p := replayPage{Recording: rec, CastURL: base + "/cast", DownloadURL: base + "/download"}
	if rec.EndedAt != nil {
		p.Duration = rec.EndedAt.Sub(rec.StartedAt).Round(time.Second).String()
	}
	return s.render(c, "replay", "Terminal replay", p)
}

func (s *Server) handleRecordingCast(c *fiber.Ctx) error {
	rec, err := s.recordingFor(c)
	if err != nil {
		return err
	}
	r, err := s.deps.Terminal.RecordingFiles.Open(rec.Path)
	if err != nil {
		return recordingFileError(err)
	}
	c.Set(fiber.HeaderContentType, "application/x-asciicast")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendStream(r)
}

func (s *Server) handleRecordingDownload(c *fiber.Ctx) error {
	rec, err := s.recordingFor(c)
	if err != nil {
		return err
	}
	r, err := s.deps.Terminal.RecordingFiles.OpenCompressed(rec.Path)
	if err != nil {
		return recordingFileError(err)
	}
	c.Attachment(rec.AttemptID + "-" + path.Base(rec.Path))
	c.Set(fiber.HeaderContentType, "application/gzip")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendStream(r)
}

func recordingFileError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fiber.NewError(fiber.StatusNotFound, "recording file is missing")
	}
	return fmt.Errorf("open recording: %w", err)
}
