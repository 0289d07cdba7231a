package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

// Test budgets.
const (
	envTimeout  = 150 * time.Second // a whole test using termEnv
	stepTimeout = 20 * time.Second  // one interaction
	prompt      = "$ "
)

// termEnv is a real server (real SQLite store, real sandbox manager on the
// real dockerd) listening on loopback.
type termEnv struct {
	t        testing.TB
	ctx      context.Context
	srv      *server.Server
	base     string // http://127.0.0.1:port
	st       *storetest.Store
	cli      sandboxtest.Docker
	image    string
	mgr      *sandbox.Manager
	hub      *terminal.Hub
	tickets  *terminal.Tickets
	rec      *recording.Recorder
	dataDir  string
	skew     atomic.Int64 // added to the tickets' clock
	userID   string
	serveErr chan error
	stop     context.CancelFunc
}

type envOptions struct {
	grace         time.Duration
	maxPerSandbox int
	pool          int  // warm pool size of the test image
	record        bool // record sessions under dataDir
	prespawn      bool
	timeout       time.Duration // default envTimeout
	memory        int64         // sandbox memory (default 256 MiB)
}

func testLog(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("OPSDOJO_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newTermEnv(t testing.TB, o envOptions) *termEnv {
	t.Helper()
	cli := sandboxtest.Client(t)
	img := sandboxtest.Image(t, cli)
	inst := sandboxtest.Instance(t, cli)
	if o.timeout == 0 {
		o.timeout = envTimeout
	}
	if o.memory == 0 {
		o.memory = 256 << 20
	}
	ctx := sandboxtest.Context(t, o.timeout)
	log := testLog(t)
	e := &termEnv{t: t, ctx: ctx, cli: cli, image: img, dataDir: t.TempDir()}

	cfg := sandbox.Config{
		Instance: inst, MaxSandboxes: 300, MaxPerOwner: -1,
		Defaults:      sandbox.Resources{CPUs: 0.5, Memory: o.memory, Pids: 512, Disk: 256 << 20},
		ExecTimeout:   20 * time.Second,
		ReapInterval:  time.Second,
		PrespawnShell: o.prespawn,
	}
	if o.pool > 0 {
		cfg.Pools = []sandbox.PoolConfig{{Image: img, Size: o.pool}}
	}
	mgr, err := sandbox.NewManager(cli, cfg, log, nil)
	if err != nil {
		t.Fatalf("sandbox manager: %v", err)
	}
	e.mgr = mgr
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_ = mgr.Close(cctx)
	})

	e.st = storetest.Open(t, storetest.SQLite)
	u := &accounts.User{Email: "cand-" + ids.New()[:8] + "@example.test", Role: accounts.RoleCandidate, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := e.st.CreateUser(ctx, u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	e.userID = u.ID

	e.tickets = terminal.NewTickets(0, func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) })
	hcfg := terminal.Config{Grace: o.grace, MaxPerSandbox: o.maxPerSandbox, Log: log}
	if o.record {
		e.rec = recording.New(recording.Config{Dir: e.dataDir + "/recordings", Store: e.st, Log: log})
		hcfg.Record = func(attemptID, term string, cols, rows int) terminal.RecordSink {
			return e.rec.Start(attemptID, term, cols, rows)
		}
	}
	e.hub = terminal.NewHub(terminal.SandboxAttacher{M: mgr}, hcfg)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	deps := server.Deps{Log: log, Database: e.st, Terminal: server.TerminalDeps{
		Hub: e.hub, Tickets: e.tickets,
		AuthorizeTerminal: func(c server.FiberCtx, attemptID string) (string, string, error) {
			a, err := e.st.AttemptByID(c.UserContext(), attemptID)
			if err != nil {
				return "", "", err
			}
			return e.userID, a.SandboxID, nil
		},
	}}
	if e.rec != nil {
		deps.Terminal.Recordings = e.st
		deps.Terminal.RecordingFiles = e.rec
		deps.Terminal.AuthorizeReplay = func(server.FiberCtx, string) error { return nil }
	}
	srv, err := server.New(server.Config{PublicURL: e.base, ShutdownTimeout: 5 * time.Second}, deps)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	sctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	e.serveErr = make(chan error, 1)
	go func() { e.serveErr <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		e.shutdown()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.hub.Shutdown(cctx); err != nil {
			t.Logf("hub shutdown: %v", err)
		}
		if e.rec != nil {
			if err := e.rec.Close(cctx); err != nil {
				t.Logf("recorder close: %v", err)
			}
		}
	})
	return e
}

// shutdown stops the HTTP server (idempotent).
func (e *termEnv) shutdown() {
	if e.stop == nil {
		return
	}
	e.stop()
	e.stop = nil
	select {
	case err := <-e.serveErr:
		if err != nil {
			e.t.Logf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		e.t.Errorf("server did not shut down")
	}
}

// sandboxFor creates a sandbox and its attempt row.
type testSandbox struct {
	id, attemptID string
}

// newAttempt creates an attempt row (recordings reference it).
func (e *termEnv) newAttempt(t testing.TB) string {
	t.Helper()
	a := &attempts.Attempt{UserID: &e.userID, ChallengeID: "test", ChallengeVersion: "v1", Mode: attempts.ModePractice, State: attempts.StateActive, StartedAt: time.Now()}
	if err := e.st.CreateAttempt(e.ctx, a); err != nil {
		t.Fatalf("create attempt: %v", err)
	}
	return a.ID
}

func (e *termEnv) newSandbox(t testing.TB) testSandbox {
	t.Helper()
	a := &attempts.Attempt{ID: e.newAttempt(t)}
	sb, err := e.mgr.Create(e.ctx, sandbox.Spec{Image: e.image, AttemptID: a.ID, OwnerID: e.userID})
	if err != nil {
		t.Fatalf("create sandbox: %v", err)
	}
	if err := e.st.UpdateAttempt(e.ctx, a.ID, attempts.Update{SandboxID: new(sb.ID)}); err != nil {
		t.Fatalf("update attempt: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.mgr.Remove(cctx, sb.ID); err != nil && !errors.Is(err, sandbox.ErrNotFound) {
			t.Logf("remove sandbox: %v", err)
		}
	})
	return testSandbox{id: sb.ID, attemptID: a.ID}
}

// ticket issues a ticket through the server's API for the web app.
func (e *termEnv) ticket(t testing.TB, sb testSandbox, term string) server.TerminalTicket {
	t.Helper()
	tk, err := e.srv.IssueTerminalTicket(e.userID, sb.attemptID, sb.id, term)
	if err != nil {
		t.Fatalf("issue ticket: %v", err)
	}
	return tk
}

// dial opens terminal term of sb with a fresh ticket.
func (e *termEnv) dial(t testing.TB, ctx context.Context, sb testSandbox, term string, o termclient.Options) *termclient.Conn {
	t.Helper()
	tk := e.ticket(t, sb, term)
	c, err := termclient.Dial(ctx, e.base+tk.URL, "", o)
	if err != nil {
		t.Fatalf("dial %s: %v", term, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// expect waits for s within stepTimeout.
func expect(t testing.TB, c *termclient.Conn, s string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	out, err := c.Expect(ctx, s)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

func send(t testing.TB, c *termclient.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// closeOf waits for the connection to end and returns the server's close.
func closeOf(t testing.TB, c *termclient.Conn) *termclient.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	buf := make([]byte, 32<<10)
	for {
		_, err := c.ReadContext(ctx, buf)
		if err == nil {
			continue
		}
		var ce *termclient.CloseError
		if errors.As(c.Err(), &ce) {
			return ce
		}
		t.Fatalf("connection ended without a close frame: read %v, conn %v", err, c.Err())
	}
}
