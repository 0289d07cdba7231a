package main

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
	"syscall"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/authoring"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/terminal"
)

// commonFlags are the flags shared by every command that touches the
// database or the logs.
type commonFlags struct {
	dataDir   *string
	db        *string
	logFormat *string
	logLevel  *string
}

func addCommonFlags(fs *flagSet) *commonFlags {
	return &commonFlags{
		dataDir:   fs.String("data-dir", "./data", "directory for the SQLite database, recordings and uploads"),
		db:        fs.String("db", "", "database: empty for SQLite under --data-dir, or postgres://USER:PASS@HOST:PORT/DB?sslmode=disable"),
		logFormat: fs.String("log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)"),
		logLevel:  fs.String("log-level", "info", "log level: debug, info, warn, error"),
	}
}

func (cf *commonFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*cf.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", *cf.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch *cf.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto", "":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use text, json or auto", *cf.logFormat)
	}
}

func (cf *commonFlags) openStore(ctx context.Context, log *slog.Logger) (*store.Store, error) {
	return store.Open(ctx, store.Options{DB: *cf.db, DataDir: *cf.dataDir, Logger: log})
}

// openMigrated opens the database and applies pending migrations; the
// error is already the one line a user should read.
func (cf *commonFlags) openMigrated(ctx context.Context, log *slog.Logger) (*store.Store, error) {
	st, err := cf.openStore(ctx, log)
	if err != nil {
		return nil, friendly(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// newDockerClient connects to dockerd from the environment (DOCKER_HOST…)
// with API-version negotiation, so a 20.10 daemon (API 1.41) works.
var newDockerClient = sandbox.NewClient

func runServe(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "serve", "serve [flags]")
	cf := addCommonFlags(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	publicURL := fs.String("public-url", "", "URL browsers use to reach the server (default http://ADDR); websocket origins must match it")
	shutdown := fs.Duration("shutdown-timeout", 15*time.Second, "how long graceful shutdown waits for in-flight requests and terminals")
	bodyLimit := fs.Int("body-limit", 8<<20, "largest request body accepted, in bytes")
	allowSignup := fs.Bool("allow-signup", true, "let anyone create a candidate account")
	idle := fs.Duration("session-idle-timeout", 2*time.Hour, "log out after this long without activity")
	maxAge := fs.Duration("session-max-age", 24*time.Hour, "log out this long after login, active or not")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated CIDR prefixes or addresses of reverse proxies whose X-Forwarded-For gives the client address (right-most address not in the list); empty: the header is ignored")
	ipFailures := fs.Int("login-failures-per-ip", 100, "failed logins allowed per 15 minutes from one client address (IPv6: one /64), whatever the emails")
	hashConcurrency := fs.Int("password-hash-concurrency", 0, "password hashes (argon2id, 64 MiB each) computed at once (0: one per CPU)")
	hashWait := fs.Duration("password-hash-wait", accounts.DefaultHashWait, "how long a login or sign-up waits for a password-hashing slot before it is answered 503")
	adminEmail := fs.String("admin-email", "admin@opsdojo.local", "email of the first admin, created on first start when there is none")
	adminPassword := fs.String("admin-password", "", "password of the first admin (default: generated and printed once)")
	challengeDirs := fs.String("challenges", "library/challenges", "comma-separated directories of challenges (each subdirectory with a challenge.yaml)")
	reload := fs.Duration("catalog-reload", 3*time.Second, "how often challenge directories are checked for edits")
	maxSandboxes := fs.Int("max-sandboxes", sandbox.DefaultMaxSandboxes, "sandboxes running at once, server-wide")
	maxPerUser := fs.Int("max-sandboxes-per-user", 2, "sandboxes one user may have at once")
	poolSize := fs.Int("pool-size", 2, "warm, already-started sandboxes kept ready per pool image")
	poolImage := fs.String("pool-image", "opsdojo/shell:latest", "image of the warm pool (empty disables the pool)")
	probeImage := fs.String("probe-image", "opsdojo/probe:latest", "trusted image the grader's checks run in")
	allowedImages := fs.String("allowed-images", "", "comma-separated patterns (e.g. acme/lab:*) of sandbox images challenges may name besides opsdojo/<name>; images are never pulled, they must be on the Docker host")
	buildBases := fs.String("build-base-images", strings.Join(grader.DefaultBuildBaseImages, ","), "comma-separated patterns of the base images graded Dockerfiles may build FROM (besides their own stages and scratch); they must be on the Docker host, never pulled")
	graders := fs.Int("graders", 2, "grading jobs run at once")
	instance := fs.String("instance", "opsdojo", "label value marking this server's containers (reconciled at start-up)")
	sandboxIdle := fs.Duration("sandbox-idle-timeout", sandbox.DefaultIdleTimeout, "a practice sandbox without terminal input for this long is hibernated: its files are kept in a local image and restored when the candidate returns (take-home sandboxes are never idle-reaped)")
	hibRetention := fs.Duration("hibernate-retention", sandbox.DefaultHibernateRetention, "a hibernated practice sandbox not resumed for this long is deleted")
	maxHibernated := fs.Int("max-hibernated", sandbox.DefaultMaxHibernated, "hibernated practice sandboxes (images) kept; past it the oldest is deleted")
	maxHibernatedPerUser := fs.Int("max-hibernated-per-user", sandbox.DefaultMaxHibernatedPerUser, "hibernated practice sandboxes kept per user; past it the user's oldest is deleted")
	sandboxRuntime := fs.String("runtime", sandbox.RuntimeRunc, "sandbox runtime: runc, or runsc for gVisor (a second wall; slower, see docs/SANDBOX.md; register it with scripts/setup-host.sh)")
	// ---- take-home assignments: flags (wiring below, before server.New) ----
	webhookURL := fs.String("webhook-url", "", "POST signed take-home events (invite opened, submitted, graded) to this URL; empty disables webhooks")
	webhookSecret := fs.String("webhook-secret", "", "HMAC-SHA256 key signing webhooks (prefer the environment variable: flags show in process lists)")
	inviteTTL := fs.Duration("invite-ttl", 7*24*time.Hour, "how long a take-home invite link stays valid by default")
	assignInterval := fs.Duration("assignment-interval", 5*time.Second, "how often overdue take-homes are submitted automatically")
	// ---- end of take-home assignment flags ----
	if err := fs.Parse(args); err != nil {
		return err
	}
	proxies, err := server.ParseTrustedProxies(*trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies (OPSDOJO_TRUSTED_PROXIES): %w", err)
	}
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}

	st, err := cf.openMigrated(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	// Listen early: a port in use is reported before anything starts, and
	// the default public URL is the real address (--addr may use port 0).
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return listenError(*addr, err)
	}
	defer ln.Close()
	if *publicURL == "" {
		*publicURL = "http://" + ln.Addr().String()
	}

	dc, err := newDockerClient()
	if err != nil {
		return err
	}
	defer dc.Close()
	docker := sandbox.NewPinger(dc)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	if err := docker.Ping(pctx); err != nil {
		log.Warn("Docker is unreachable: sandboxes cannot start until it is back; /readyz reports it", "err", err)
	}
	cancel()

	acc := accounts.New(st, accounts.Config{IdleTimeout: *idle, AbsoluteTimeout: *maxAge, LoginFailuresPerIP: *ipFailures, HashConcurrency: *hashConcurrency, HashWait: *hashWait}, log, time.Now)
	created, pw, err := acc.EnsureAdmin(ctx, *adminEmail, *adminPassword)
	if err != nil {
		return err
	}
	if created && *adminPassword == "" {
		// Printed once, to the terminal, never to the log stream.
		fmt.Fprintf(app.stderr, "\n  First start: created admin %s with password %s\n  Log in and change it; it is not shown again.\n\n", *adminEmail, pw)
	} else if created {
		log.Info("created first admin from configuration", "email", *adminEmail)
	}

	// Sandboxes, catalog, attempts and grading workers.
	cfg := sandbox.Config{Instance: *instance, MaxSandboxes: *maxSandboxes, MaxPerOwner: *maxPerUser, ProbeImage: *probeImage, PrespawnShell: true, Runtime: *sandboxRuntime}
	if *poolImage != "" && *poolSize > 0 {
		cfg.Pools = []sandbox.PoolConfig{{Image: *poolImage, Size: *poolSize}}
	}
	cfg.DefaultIdle = *sandboxIdle
	mgr, err := sandbox.NewManager(dc, cfg, log, time.Now)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = mgr.Close(cctx)
	}()
	g := grader.New(mgr, grader.NewDockerBuilder(sandbox.NewImageBuilder(dc), *probeImage).WithPolicy(grader.BuildPolicy{BaseImages: splitList(*buildBases)}), log, time.Now)
	var svc *attempts.Service
	// Uploaded challenges live under the data dir, beside the shipped ones.
	uploads := filepath.Join(*cf.dataDir, "challenges")
	if err := os.MkdirAll(uploads, 0o750); err != nil {
		return fmt.Errorf("create %s: %w (check --data-dir)", uploads, err)
	}
	uploadsAbs, _ := filepath.Abs(uploads)
	cat := challenges.NewCatalog(challenges.CatalogOptions{Roots: append(splitList(*challengeDirs), uploads), Interval: *reload, Logger: log,
		Load: challenges.LoadOptions{AllowedImages: splitList(*allowedImages)},
		OnChange: func(ctx context.Context, ch *challenges.Challenge) {
			if err := svc.Remember(ctx, ch); err != nil {
				log.Warn("record challenge version", "challenge", ch.ID, "err", err)
			}
		}})
	svc = attempts.New(st, mgr, cat, g, attempts.Config{Workers: *graders,
		// Shipped challenges are published when first seen; uploads wait
		// for an author to publish them.
		AutoPublish: func(ch *challenges.Challenge) bool {
			return !strings.HasPrefix(ch.Dir, uploadsAbs+string(filepath.Separator))
		},
	}, log, time.Now)
	mgr.SetHibernation(sandbox.HibernateConfig{Retention: *hibRetention, MaxImages: *maxHibernated, MaxPerOwner: *maxHibernatedPerUser})
	mgr.SetKeep(svc.AwaitingFreeze) // a take-home past its TTL stays until its submission is frozen
	author := authoring.New(uploads, cat, st, grader.NewSelfTester(mgr, g, 1), log)
	if err := cat.Reload(ctx); err != nil {
		return fmt.Errorf("load challenges from %s: %w (set --challenges)", *challengeDirs, err)
	}
	for id, probs := range cat.Problems() {
		log.Warn("challenge has problems; the last good version (if any) is served", "challenge", id, "problems", probs.Error())
	}
	log.Info("challenges loaded", "count", len(cat.List(challenges.Filter{})))
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	if docker.Ping(ctx) == nil {
		if rep, err := svc.Reconcile(ctx); err != nil {
			log.Warn("reconcile sandboxes", "err", err)
		} else {
			log.Info("reconciled sandboxes", "report", fmt.Sprintf("%+v", rep))
		}
		go func() {
			if err := mgr.FillPool(bg); err != nil && bg.Err() == nil {
				log.Warn("warm pool", "err", err)
			}
		}()
	}
	go mgr.RunReaper(bg)
	go svc.RunWorkers(bg)
	go func() { _ = cat.Run(bg) }()

	// Browser terminals: single-use tickets, shells that survive a
	// reconnect, and asciicast recordings under the data dir.
	tickets := terminal.NewTickets(0, nil)
	rec := recording.New(recording.Config{Dir: filepath.Join(*cf.dataDir, "recordings"), Store: st, Log: log})
	hub := terminal.NewHub(terminal.SandboxAttacher{M: mgr}, terminal.Config{Log: log,
		Record: func(attempt, term string, cols, rows int) terminal.RecordSink {
			return rec.Start(attempt, term, cols, rows)
		}})
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = hub.Shutdown(cctx)
		_ = rec.Close(cctx)
	}()

	// ---- take-home assignments, review and webhooks (package assignments) ----
	if *webhookURL != "" {
		if err := assignments.ValidateWebhookURL(*webhookURL); err != nil {
			return fmt.Errorf("--webhook-url: %w", err)
		}
		if len(*webhookSecret) < 16 {
			return errors.New("--webhook-url needs --webhook-secret (OPSDOJO_WEBHOOK_SECRET) of at least 16 characters to sign with")
		}
	}
	review := assignments.New(st, svc, mgr, cat, rec, assignments.Config{PublicURL: *publicURL, InviteTTL: *inviteTTL, Interval: *assignInterval,
		Webhook: assignments.WebhookConfig{URL: *webhookURL, Secret: *webhookSecret}}, log, time.Now)
	review.UseTerminals(hub) // submit closes the take-home's terminals at the freeze instant
	go review.Run(bg)
	// ---- end of take-home assignments ----

	srv, err := server.New(server.Config{
		PublicURL:       *publicURL,
		ShutdownTimeout: *shutdown,
		BodyLimit:       *bodyLimit,
		AllowSignup:     *allowSignup,
		TrustedProxies:  proxies,
	}, server.Deps{Log: log, Database: st, Docker: docker, Accounts: acc, Catalog: cat, Attempts: svc, Runs: st,
		Authoring: author, Published: st, Review: server.ReviewDeps{Service: review},
		Terminal: server.TerminalDeps{Hub: hub, Tickets: tickets, Recordings: st, RecordingFiles: rec}})
	if err != nil {
		return err
	}
	if app.onListen != nil {
		app.onListen(ln.Addr().String())
	}
	log.Info("opsdojo listening", "url", *publicURL, "addr", ln.Addr().String(), "database", st.Dialect(), "data_dir", *cf.dataDir)
	return srv.Serve(ctx, ln)
}

func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("address %s is already in use: stop the other process or choose another with --addr (OPSDOJO_ADDR)", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("not allowed to listen on %s: use a port above 1024 or run with the right privileges", addr)
	default:
		return fmt.Errorf("listen on %s: %w (check --addr, OPSDOJO_ADDR)", addr, err)
	}
}

// friendly turns configuration errors into their one-line message.
func friendly(err error) error {
	var ce *store.ConfigError
	if errors.As(err, &ce) {
		return errors.New(ce.Msg)
	}
	msg := err.Error()
	if strings.Contains(msg, "connect: connection refused") || strings.Contains(msg, "failed to connect") {
		return fmt.Errorf("%w\n  fix: start the database or correct --db (OPSDOJO_DB)", err)
	}
	return err
}

func runMigrate(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "migrate", "migrate up|status [flags]")
	cf := addCommonFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) != 1 || (rest[0] != "up" && rest[0] != "status") {
		fmt.Fprintln(app.stderr, "opsdojo migrate: say 'up' or 'status', for example: opsdojo migrate up")
		return errUsage
	}
	log, err := cf.logger(app.stderr)
	if err != nil {
		return err
	}
	st, err := cf.openStore(ctx, log)
	if err != nil {
		return friendly(err)
	}
	defer st.Close()
	if rest[0] == "up" {
		applied, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, m := range applied {
			fmt.Fprintf(app.stdout, "applied %05d %s\n", m.Version, m.Name)
		}
		if len(applied) == 0 {
			fmt.Fprintln(app.stdout, "database is up to date")
		}
		return nil
	}
	states, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, m := range states {
		state := "pending"
		if m.Applied {
			state = "applied " + m.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(app.stdout, "%05d %-40s %s\n", m.Version, m.Name, state)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
