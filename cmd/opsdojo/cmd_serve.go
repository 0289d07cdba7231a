package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store"
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
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus /metrics on this separate address, e.g. 127.0.0.1:9464 (empty: not served); keep it off the public network, see docs/OPERATIONS.md")
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
	cfg := serveConfig{
		Store: store.Options{DB: *cf.db, DataDir: *cf.dataDir},
		Addr:  *addr,
		Server: server.Config{
			PublicURL:       *publicURL,
			ShutdownTimeout: *shutdown,
			BodyLimit:       *bodyLimit,
			AllowSignup:     *allowSignup,
			TrustedProxies:  proxies,
		},
		Accounts:      accounts.Config{IdleTimeout: *idle, AbsoluteTimeout: *maxAge, LoginFailuresPerIP: *ipFailures, HashConcurrency: *hashConcurrency, HashWait: *hashWait},
		AdminEmail:    *adminEmail,
		AdminPassword: *adminPassword,
		MetricsAddr:   *metricsAddr,
		Sandbox: sandbox.Config{Instance: *instance, MaxSandboxes: *maxSandboxes, MaxPerOwner: *maxPerUser, ProbeImage: *probeImage, PrespawnShell: true, Runtime: *sandboxRuntime,
			DefaultIdle: *sandboxIdle},
		Hibernation:    sandbox.HibernateConfig{Retention: *hibRetention, MaxImages: *maxHibernated, MaxPerOwner: *maxHibernatedPerUser},
		ProbeImage:     *probeImage,
		BuildBases:     splitList(*buildBases),
		ChallengeDirs:  splitList(*challengeDirs),
		AllowedImages:  splitList(*allowedImages),
		CatalogReload:  *reload,
		Graders:        *graders,
		Webhook:        assignments.WebhookConfig{URL: *webhookURL, Secret: *webhookSecret},
		InviteTTL:      *inviteTTL,
		AssignInterval: *assignInterval,
	}
	if *poolImage != "" && *poolSize > 0 {
		cfg.Sandbox.Pools = []sandbox.PoolConfig{{Image: *poolImage, Size: *poolSize}}
	}
	m := NewMain(cfg, app, log)
	defer m.Close()
	return m.Run(ctx)
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
