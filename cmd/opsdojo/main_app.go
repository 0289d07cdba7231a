package main

// The composition root of `opsdojo serve`: runServe reads flags into a
// serveConfig; Main builds the server from it in small named steps (store,
// listener, Docker, metrics, accounts, sandboxes, grader, catalog,
// attempts, terminals, assignments, HTTP server), runs it until its context
// ends and closes what it opened, in reverse order. Nothing here decides
// anything: each step hands the packages their dependencies.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/authoring"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/images"
	"github.com/opsdojo/opsdojo/metrics"
	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/terminal"
)

// Timeouts of the server's shutdown steps (detached from the run's
// context: a stopped server still cleans up).
const (
	dockerPingTimeout    = 3 * time.Second
	terminalsCloseWait   = 10 * time.Second
	sandboxesCloseWait   = 30 * time.Second
	builderCloseTimeout  = 2 * time.Minute // graded images still queued for deletion
	uploadsDirPermission = 0o750
)

// serveConfig is the configuration of `opsdojo serve`: what runServe reads
// from flags and their environment variables, and nothing else reads.
type serveConfig struct {
	Store store.Options // DB and DataDir; the logger is Main's
	Addr  string
	// Server's PublicURL may be empty: http://<listen address>.
	Server        server.Config
	Accounts      accounts.Config
	AdminEmail    string
	AdminPassword string // empty: generated and printed once
	MetricsAddr   string // empty: metrics kept, not served

	Sandbox     sandbox.Config
	Hibernation sandbox.HibernateConfig
	ProbeImage  string
	BuildBases  []string // patterns of the base images graded Dockerfiles may build FROM

	ChallengeDirs []string
	AllowedImages []string
	CatalogReload time.Duration
	Graders       int

	Webhook        assignments.WebhookConfig
	InviteTTL      time.Duration
	AssignInterval time.Duration
}

// check refuses a configuration that cannot work, before anything starts.
func (c serveConfig) check() error {
	if c.Webhook.URL == "" {
		return nil
	}
	if err := assignments.ValidateWebhookURL(c.Webhook.URL); err != nil {
		return fmt.Errorf("--webhook-url: %w", err)
	}
	if len(c.Webhook.Secret) < 16 {
		return errors.New("--webhook-url needs --webhook-secret (OPSDOJO_WEBHOOK_SECRET) of at least 16 characters to sign with")
	}
	return nil
}

// Main is the opsdojo server. NewMain takes its configuration; Run opens
// everything, serves until ctx ends and returns; Close releases what Run
// opened (safe to call after a failed Run, and more than once).
type Main struct {
	cfg serveConfig
	app *cli // stderr (the first admin's password) and the tests' listen hooks
	log *slog.Logger

	st      *store.Store
	ln      net.Listener
	docker  sandbox.Pinger
	met     *metrics.Metrics
	acc     *accounts.Service
	mgr     *sandbox.Manager
	builder *grader.DockerBuilder
	images  challengeImages // builds uploaded challenges' own images
	grader  *grader.Grader
	cat     *challenges.Catalog
	events  *catalogEvents
	uploads string          // uploaded challenges, under the data dir
	bg      context.Context // background work's; ends with Run's or at Close
	svc     *attempts.Service
	author  *authoring.Service
	rec     *recording.Recorder
	hub     *terminal.Hub
	tickets *terminal.Tickets
	review  *assignments.Service
	srv     *server.Server

	closeOnce sync.Once
	closers   []func(ctx context.Context) // run in reverse order by Close
}

// NewMain returns a server for cfg; nothing is opened before Run.
func NewMain(cfg serveConfig, app *cli, log *slog.Logger) *Main {
	return &Main{cfg: cfg, app: app, log: log}
}

// onClose registers a step's clean-up.
func (m *Main) onClose(f func(ctx context.Context)) { m.closers = append(m.closers, f) }

// Run opens the server step by step, starts its background work and
// serves HTTP until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	if err := m.cfg.check(); err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"store", m.openStore},
		{"listener", m.listen},
		{"metrics", m.openMetrics},
		{"accounts", m.openAccounts},
		{"sandboxes", m.openSandboxes},
		{"grader", m.openGrader},
		{"catalog", m.openCatalog},
		{"attempts", m.openAttempts},
		{"terminals", m.openTerminals},
		{"assignments", m.openAssignments},
		{"server", m.openServer},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return err // the step's error is already the one to show
		}
	}
	m.startBackground(ctx)
	if m.app.onListen != nil {
		m.app.onListen(m.ln.Addr().String())
	}
	m.log.Info("opsdojo listening", "url", m.cfg.Server.PublicURL, "addr", m.ln.Addr().String(), "database", m.st.Dialect(), "data_dir", m.cfg.Store.DataDir)
	return m.srv.Serve(ctx, m.ln)
}

// Close releases what Run opened, the last opened first.
func (m *Main) Close() {
	m.closeOnce.Do(func() {
		ctx := context.Background()
		for i := len(m.closers) - 1; i >= 0; i-- {
			m.closers[i](ctx)
		}
	})
}

// openStore opens the database and applies pending migrations.
func (m *Main) openStore(ctx context.Context) error {
	opts := m.cfg.Store
	opts.Logger = m.log
	st, err := store.Open(ctx, opts)
	if err != nil {
		return friendly(err)
	}
	m.onClose(func(context.Context) { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	m.st = st
	return nil
}

// listen binds early: a port in use is reported before anything starts,
// and the default public URL is the real address (--addr may use port 0).
func (m *Main) listen(context.Context) error {
	ln, err := net.Listen("tcp", m.cfg.Addr)
	if err != nil {
		return listenError(m.cfg.Addr, err)
	}
	m.onClose(func(context.Context) { ln.Close() })
	m.ln = ln
	if m.cfg.Server.PublicURL == "" {
		m.cfg.Server.PublicURL = "http://" + ln.Addr().String()
	}
	return nil
}

// openMetrics keeps the series always (cheap) and serves them only on
// --metrics-addr, a listener of its own.
func (m *Main) openMetrics(ctx context.Context) error {
	m.met = metrics.New(m.log)
	return serveMetrics(ctx, m.app, m.met, m.cfg.MetricsAddr, m.log)
}

// openAccounts makes the accounts service and, on first start, the admin.
func (m *Main) openAccounts(ctx context.Context) error {
	cfg := m.cfg.Accounts
	cfg.Observer = m.met
	m.acc = accounts.New(m.st, cfg, m.log, time.Now)
	created, pw, err := m.acc.EnsureAdmin(ctx, m.cfg.AdminEmail, m.cfg.AdminPassword)
	if err != nil {
		return err
	}
	if created && m.cfg.AdminPassword == "" {
		// Printed once, to the terminal, never to the log stream.
		fmt.Fprintf(m.app.stderr, "\n  First start: created admin %s with password %s\n  Log in and change it; it is not shown again.\n\n", m.cfg.AdminEmail, pw)
	} else if created {
		m.log.Info("created first admin from configuration", "email", m.cfg.AdminEmail)
	}
	return nil
}

// openSandboxes connects to dockerd and makes the sandbox manager and the
// image builder of docker_build checks on that connection. An unreachable
// daemon is not fatal: sandboxes wait for it and /readyz reports it.
func (m *Main) openSandboxes(ctx context.Context) error {
	dc, err := newDockerClient()
	if err != nil {
		return err
	}
	m.onClose(func(context.Context) { dc.Close() })
	m.docker = sandbox.NewPinger(dc)
	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	if err := m.docker.Ping(pctx); err != nil {
		m.log.Warn("Docker is unreachable: sandboxes cannot start until it is back; /readyz reports it", "err", err)
	}
	cancel()
	mgr, err := sandbox.NewManager(dc, m.cfg.Sandbox, m.log, time.Now)
	if err != nil {
		return err
	}
	m.onClose(func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, sandboxesCloseWait)
		defer cancel()
		_ = mgr.Close(cctx)
	})
	mgr.SetObserver(m.met)
	m.met.WatchSandboxes(mgr)
	m.met.WatchGradingQueue(m.st)
	mgr.SetHibernation(m.cfg.Hibernation)
	m.mgr = mgr
	m.images = challengeImages{b: images.NewBuilder(dc, nil, m.log, io.Discard), allowed: m.cfg.AllowedImages}
	m.builder = grader.NewDockerBuilder(sandbox.NewImageBuilder(dc), m.cfg.ProbeImage).WithPolicy(grader.BuildPolicy{BaseImages: m.cfg.BuildBases})
	m.onClose(func(ctx context.Context) { closeBuilder(ctx, m.builder, m.log) })
	return nil
}

// openGrader makes the grader over the sandboxes and the image builder.
func (m *Main) openGrader(context.Context) error {
	m.grader = grader.New(m.mgr, m.builder, m.log, time.Now)
	return nil
}

// openCatalog makes the challenge catalog over the shipped directories and
// the uploads under the data dir. Its new versions are recorded by
// attempts, made after it (it needs the catalog): m.events forwards them
// once attempts subscribe, before the first load.
func (m *Main) openCatalog(context.Context) error {
	m.uploads = filepath.Join(m.cfg.Store.DataDir, "challenges")
	if err := os.MkdirAll(m.uploads, uploadsDirPermission); err != nil {
		return fmt.Errorf("create %s: %w (check --data-dir)", m.uploads, err)
	}
	m.events = &catalogEvents{log: m.log}
	m.cat = challenges.NewCatalog(challenges.CatalogOptions{Roots: append(slicesClone(m.cfg.ChallengeDirs), m.uploads), Interval: m.cfg.CatalogReload, Logger: m.log,
		Load:     challenges.LoadOptions{AllowedImages: m.cfg.AllowedImages},
		OnChange: m.events.changed})
	return nil
}

// openAttempts makes the attempts service (grading workers included) and
// the authoring service, subscribes attempts to the catalog's versions and
// loads the catalog.
func (m *Main) openAttempts(ctx context.Context) error {
	uploadsAbs, _ := filepath.Abs(m.uploads)
	m.svc = attempts.New(m.st, m.mgr, m.cat, m.grader, attempts.Config{Workers: m.cfg.Graders, Observer: m.met,
		// Shipped challenges are published when first seen; uploads wait
		// for an author to publish them.
		AutoPublish: func(ch *challenges.Challenge) bool {
			return !strings.HasPrefix(ch.Dir, uploadsAbs+string(filepath.Separator))
		},
	}, m.log, time.Now)
	m.events.subscribe(m.svc)
	m.mgr.SetKeep(m.svc.AwaitingFreeze) // a take-home past its TTL stays until its submission is frozen
	m.author = authoring.New(m.uploads, m.cat, m.st, grader.NewSelfTester(m.mgr, m.grader, 1), m.log)
	m.author.SetImageBuilder(m.images)
	if err := m.cat.Reload(ctx); err != nil {
		return fmt.Errorf("load challenges from %s: %w (set --challenges)", strings.Join(m.cfg.ChallengeDirs, ","), err)
	}
	for id, probs := range m.cat.Problems() {
		m.log.Warn("challenge has problems; the last good version (if any) is served", "challenge", id, "problems", probs.Error())
	}
	m.log.Info("challenges loaded", "count", len(m.cat.List(challenges.Filter{})))
	// The context of the background work (startBackground): it ends with
	// Run's, or at Close, after the terminals are shut down.
	bg, stop := context.WithCancel(ctx)
	m.bg = bg
	m.onClose(func(context.Context) { stop() })
	return nil
}

// openTerminals makes the browser terminals: single-use tickets, shells
// that survive a reconnect, and asciicast recordings under the data dir.
func (m *Main) openTerminals(context.Context) error {
	m.tickets = terminal.NewTickets(0, nil)
	m.rec = recording.New(recording.Config{Dir: filepath.Join(m.cfg.Store.DataDir, "recordings"), Store: m.st, Log: m.log})
	m.hub = terminal.NewHub(terminal.SandboxAttacher{M: m.mgr}, terminal.Config{Log: m.log,
		Record: func(attempt, term string, cols, rows int) terminal.RecordSink {
			return countedSink{m.rec.Start(attempt, term, cols, rows), m.met}
		}})
	m.met.WatchTerminals(m.hub)
	m.met.WatchRecordings(m.rec)
	m.onClose(func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, terminalsCloseWait)
		defer cancel()
		_ = m.hub.Shutdown(cctx)
		_ = m.rec.Close(cctx)
	})
	return nil
}

// openAssignments makes the take-home service: invites, submission and
// freeze, review, webhooks.
func (m *Main) openAssignments(context.Context) error {
	wh := m.cfg.Webhook
	wh.Observer = m.met
	m.review = assignments.New(m.st, m.svc, m.mgr, m.cat, m.rec, assignments.Config{PublicURL: m.cfg.Server.PublicURL, InviteTTL: m.cfg.InviteTTL, Interval: m.cfg.AssignInterval,
		Webhook: wh}, m.log, time.Now)
	m.review.UseTerminals(m.hub) // submit closes the take-home's terminals at the freeze instant
	m.svc.UsePolicies(m.review)  // attempts enforce their assignment's rules (hints, interview mode)
	return nil
}

// openServer makes the HTTP server over the services.
func (m *Main) openServer(context.Context) error {
	srv, err := server.New(m.cfg.Server, server.Deps{Log: m.log, Database: m.st, Docker: m.docker, Accounts: m.acc, Catalog: m.cat, Attempts: m.svc,
		Tokens:    accounts.NewTokens(m.st, time.Now),
		Authoring: m.author, Published: m.st, Review: server.ReviewDeps{Service: m.review},
		Terminal: server.TerminalDeps{Hub: m.hub, Tickets: m.tickets, Recordings: m.st, RecordingFiles: m.rec},
		Observe:  m.met.HTTPMiddleware()})
	if err != nil {
		return err
	}
	m.srv = srv
	return nil
}

// startBackground reconciles sandboxes with the database (when Docker
// answers), fills the warm pool and starts the reaper, the grading
// workers, the catalog's polling and the take-home deadlines; they stop
// when ctx ends or at Close.
func (m *Main) startBackground(ctx context.Context) {
	bg := m.bg
	if m.docker.Ping(ctx) == nil {
		if rep, err := m.svc.Reconcile(ctx); err != nil {
			m.log.Warn("reconcile sandboxes", "err", err)
		} else {
			m.log.Info("reconciled sandboxes", "report", fmt.Sprintf("%+v", rep))
		}
		go func() {
			if err := m.mgr.FillPool(bg); err != nil && bg.Err() == nil {
				m.log.Warn("warm pool", "err", err)
			}
		}()
	}
	go m.mgr.RunReaper(bg)
	go m.svc.RunWorkers(bg)
	go func() { _ = m.cat.Run(bg) }()
	go m.review.Run(bg)
}

// catalogEvents forwards the catalog's new challenge versions to the
// service that records them (attempts), which is made after the catalog.
type catalogEvents struct {
	log *slog.Logger
	mu  sync.Mutex
	rec versionRecorder
}

// versionRecorder records a challenge version (attempts.Service).
type versionRecorder interface {
	Remember(ctx context.Context, ch *challenges.Challenge) error
}

// subscribe sets the recorder; call it before the catalog first loads.
func (e *catalogEvents) subscribe(r versionRecorder) {
	e.mu.Lock()
	e.rec = r
	e.mu.Unlock()
}

func (e *catalogEvents) changed(ctx context.Context, ch *challenges.Challenge) {
	e.mu.Lock()
	r := e.rec
	e.mu.Unlock()
	if r == nil {
		e.log.Error("challenge version not recorded: nothing subscribed to the catalog yet", "challenge", ch.ID)
		return
	}
	if err := r.Remember(ctx, ch); err != nil {
		e.log.Warn("record challenge version", "challenge", ch.ID, "err", err)
	}
}

// closeBuilder deletes the graded images b still has queued (detached
// from ctx: an interrupted command cleans up too); what it cannot delete
// is logged with the label to find it by.
func closeBuilder(ctx context.Context, b *grader.DockerBuilder, log *slog.Logger) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), builderCloseTimeout)
	defer cancel()
	if err := b.Close(cctx); err != nil {
		log.Warn("graded images left behind", "err", err)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
