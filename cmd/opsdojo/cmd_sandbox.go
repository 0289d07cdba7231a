package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moby/term"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
)

// CLI sandbox limits and timings.
const (
	cliSandboxOwner   = "cli"
	cliCreateTimeout  = 2 * time.Minute
	cliRemoveTimeout  = 30 * time.Second
	cliTTLSlack       = time.Minute
	cliShellTTL       = 4 * time.Hour
	exitCodeTimedOut  = 124 // like timeout(1)
	exitCodeNoCommand = 127
)

const sandboxUsage = `sandbox COMMAND

Commands:
  exec  [flags] IMAGE -- CMD [ARG…]   run CMD as the candidate user in a fresh sandbox, print its output, exit with its status
  shell [flags] IMAGE                 interactive shell in a fresh sandbox (removed on exit)
  ls    [--json]                      list managed sandboxes
  rm    [--expired] [ID…]             remove sandboxes by ID, or every expired one but attempts'`

func runSandbox(ctx context.Context, app *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(app.stderr, "Usage: opsdojo "+sandboxUsage)
		return errUsage
	}
	switch args[0] {
	case "exec":
		return runSandboxExec(ctx, app, args[1:])
	case "shell":
		return runSandboxShell(ctx, app, args[1:])
	case "ls", "list":
		return runSandboxList(ctx, app, args[1:])
	case "rm", "remove":
		return runSandboxRemove(ctx, app, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(app.stdout, "Usage: opsdojo "+sandboxUsage)
		return errHelp
	default:
		fmt.Fprintf(app.stderr, "opsdojo sandbox: unknown command %q\nUsage: opsdojo %s\n", args[0], sandboxUsage)
		return errUsage
	}
}

// sandboxSpecFor turns the IMAGE|CHALLENGE argument into a Spec: a
// directory holding a challenge.yaml (or the file itself) gives that
// challenge's sandbox with its files and setup applied (seeded like an
// attempt); anything else is an image name.
func sandboxSpecFor(_ context.Context, arg string) (spec sandbox.Spec, fromChallenge bool, err error) {
	if arg == "" {
		return sandbox.Spec{}, false, errors.New("missing IMAGE or CHALLENGE directory")
	}
	dir := arg
	if filepath.Base(arg) == challenges.SpecFile {
		dir = filepath.Dir(arg)
	}
	if st, statErr := os.Stat(filepath.Join(dir, challenges.SpecFile)); statErr == nil && !st.IsDir() {
		ch, err := challenges.Load(dir)
		if err != nil {
			return sandbox.Spec{}, false, fmt.Errorf("challenge %s does not lint:\n%w", dir, err)
		}
		return grader.SandboxSpec(ch, time.Now().UnixNano()), true, nil
	}
	return sandbox.Spec{Image: arg}, false, nil
}

// sandboxFlags are the flags shared by exec and shell.
type sandboxFlags struct {
	instance, user, network, capAdd, env, memory, disk *string
	cpus                                               *float64
	pids                                               *int
	timeout                                            *time.Duration
	maxOutput                                          *int
	verbose                                            *bool
}

func addSandboxFlags(f *flagSet, withExec bool) *sandboxFlags {
	sf := &sandboxFlags{
		instance: f.String("sandbox-instance", "", "io.opsdojo.instance label of the sandboxes (empty: all)"),
		user:     f.String("user", sandbox.DefaultUser, "user the command or shell runs as"),
		network:  f.String("network", sandbox.NetworkNone, "none | isolated"),
		capAdd:   f.String("cap-add", "", "comma-separated capabilities to add (from the allow-list)"),
		env:      f.String("env", "", "comma-separated KEY=VALUE pairs"),
		memory:   f.String("memory", "512m", "memory limit (swap = memory)"),
		disk:     f.String("disk", "1g", "writable disk"),
		cpus:     f.Float64("cpus", sandbox.DefaultCPUs, "CPU cores"),
		pids:     f.Int("pids", sandbox.DefaultPids, "process/thread limit"),
		verbose:  f.Bool("verbose", false, "log sandbox operations to stderr"),
	}
	if withExec {
		sf.timeout = f.Duration("timeout", sandbox.DefaultExecTimeout, "command deadline (its processes are killed)")
		sf.maxOutput = f.Int("max-output", sandbox.DefaultMaxExecOutput, "bytes kept of stdout and of stderr each")
	}
	return sf
}

// apply sets the Spec from the flags. For a challenge's Spec only the flags
// given on the command line override it (the challenge's own sandbox
// settings are the defaults).
func (sf *sandboxFlags) apply(s *sandbox.Spec, f *flagSet, fromChallenge bool) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	use := func(name string) bool { return !fromChallenge || set[name] }
	if use("user") {
		s.User = *sf.user
	}
	if use("network") {
		s.Network = *sf.network
	}
	if use("cpus") {
		s.CPUs = *sf.cpus
	}
	if use("pids") {
		s.Pids = int64(*sf.pids)
	}
	var err error
	if use("memory") {
		if s.Memory, err = sandbox.ParseBytes(*sf.memory); err != nil {
			return err
		}
	}
	if use("disk") {
		if s.Disk, err = sandbox.ParseBytes(*sf.disk); err != nil {
			return err
		}
	}
	for _, c := range strings.Split(*sf.capAdd, ",") {
		if c = strings.TrimSpace(c); c != "" {
			s.CapAdd = append(s.CapAdd, c)
		}
	}
	for _, kv := range strings.Split(*sf.env, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--env %q: want KEY=VALUE", kv)
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = v
	}
	s.OwnerID = cliSandboxOwner
	s.AttemptID = "cli-" + fmt.Sprint(time.Now().UnixNano())
	return nil
}

// newSandboxManager connects to Docker (DOCKER_HOST etc.) and returns a Manager.
func newSandboxManager(app *cli, instance string, verbose bool) (*sandbox.Manager, func(), error) {
	dc, err := newDockerClient()
	if err != nil {
		return nil, nil, err
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(app.stderr, &slog.HandlerOptions{Level: level}))
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: instance, MaxPerOwner: -1}, log, time.Now)
	if err != nil {
		dc.Close()
		return nil, nil, err
	}
	return m, func() { dc.Close() }, nil
}

// createCLISandbox connects to Docker and creates the sandbox of a CLI
// command; cleanup removes it (even after an interrupt) and disconnects.
func createCLISandbox(ctx context.Context, app *cli, sf *sandboxFlags, spec sandbox.Spec) (*sandbox.Manager, *sandbox.Sandbox, func(), error) {
	m, done, err := newSandboxManager(app, *sf.instance, *sf.verbose)
	if err != nil {
		return nil, nil, nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, cliCreateTimeout)
	sb, err := m.Create(cctx, spec)
	cancel()
	if err != nil {
		done()
		return nil, nil, nil, fmt.Errorf("create sandbox: %w", err)
	}
	return m, sb, func() { removeDetached(ctx, app, m, sb.ID); done() }, nil
}

// removeDetached removes id with a deadline of its own: an interrupted
// command must not leave its sandbox behind.
func removeDetached(ctx context.Context, app *cli, m *sandbox.Manager, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cliRemoveTimeout)
	defer cancel()
	if err := m.Remove(rctx, id); err != nil {
		fmt.Fprintf(app.stderr, "opsdojo sandbox: remove %s: %v\n", id, err)
	}
}

func runSandboxExec(ctx context.Context, app *cli, args []string) error {
	f := newFlagSet(app, "sandbox exec", "sandbox exec [flags] IMAGE -- CMD [ARG…]")
	sf := addSandboxFlags(f, true)
	if err := f.Parse(args); err != nil {
		return err
	}
	rest := f.Args()
	if len(rest) < 2 {
		f.fs.Usage()
		return errUsage
	}
	cmd := rest[1:]
	if cmd[0] == "--" {
		cmd = cmd[1:]
	}
	if len(cmd) == 0 {
		f.fs.Usage()
		return errUsage
	}
	spec, fromChallenge, err := sandboxSpecFor(ctx, rest[0])
	if err != nil {
		return err
	}
	if err := sf.apply(&spec, f, fromChallenge); err != nil {
		return err
	}
	spec.TTL = *sf.timeout + cliCreateTimeout + cliTTLSlack
	m, sb, cleanup, err := createCLISandbox(ctx, app, sf, spec)
	if err != nil {
		return err
	}
	defer cleanup()
	opts := sandbox.ExecOptions{User: spec.User, Timeout: *sf.timeout, MaxOutput: *sf.maxOutput}
	if _, isTerm := term.GetFdInfo(app.stdin); !isTerm && app.stdin != nil {
		opts.Stdin = app.stdin
	}
	res, err := m.Exec(ctx, sb.ID, cmd, opts)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	_, _ = app.stdout.Write(res.Stdout)
	_, _ = app.stderr.Write(res.Stderr)
	if res.StdoutTruncated || res.StderrTruncated {
		fmt.Fprintf(app.stderr, "opsdojo sandbox: output truncated at %d bytes per stream\n", *sf.maxOutput)
	}
	switch {
	case res.TimedOut:
		fmt.Fprintf(app.stderr, "opsdojo sandbox: command timed out after %s and was killed\n", *sf.timeout)
		return &exitError{exitCodeTimedOut}
	case res.ExitCode < 0:
		return &exitError{exitCodeNoCommand}
	case res.ExitCode != 0:
		return &exitError{res.ExitCode}
	}
	return nil
}

func runSandboxShell(ctx context.Context, app *cli, args []string) error {
	f := newFlagSet(app, "sandbox shell", "sandbox shell [flags] IMAGE")
	sf := addSandboxFlags(f, false)
	if err := f.Parse(args); err != nil {
		return err
	}
	if len(f.Args()) != 1 {
		f.fs.Usage()
		return errUsage
	}
	spec, fromChallenge, err := sandboxSpecFor(ctx, f.Args()[0])
	if err != nil {
		return err
	}
	if err := sf.apply(&spec, f, fromChallenge); err != nil {
		return err
	}
	spec.TTL = cliShellTTL
	m, sb, cleanup, err := createCLISandbox(ctx, app, sf, spec)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(app.stderr, "opsdojo: sandbox %.12s (%s), removed when the shell exits\n", sb.ID, spec.Image)

	inFd, inTerm := term.GetFdInfo(app.stdin)
	outFd, _ := term.GetFdInfo(app.stdout)
	opts := sandbox.AttachOptions{User: spec.User}
	if ws, err := term.GetWinsize(outFd); err == nil && ws.Width > 0 {
		opts.Cols, opts.Rows = uint(ws.Width), uint(ws.Height)
	}
	t, err := m.Attach(ctx, sb.ID, opts)
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	defer t.Close()
	if inTerm {
		state, err := term.SetRawTerminal(inFd)
		if err != nil {
			return fmt.Errorf("raw terminal: %w", err)
		}
		defer term.RestoreTerminal(inFd, state)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if ws, err := term.GetWinsize(outFd); err == nil {
					_ = t.Resize(ctx, uint(ws.Width), uint(ws.Height))
				}
			}
		}()
	}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		_, _ = io.Copy(app.stdout, t)
	}()
	go func() { _, _ = io.Copy(t, app.stdin) }()
	select {
	case <-outDone:
	case <-ctx.Done():
	}
	code, _, err := t.ExitCode(context.WithoutCancel(ctx))
	if err == nil && code > 0 {
		return &exitError{code}
	}
	return nil
}

func runSandboxList(ctx context.Context, app *cli, args []string) error {
	f := newFlagSet(app, "sandbox ls", "sandbox ls [--json]")
	instance := f.String("sandbox-instance", "", "only this io.opsdojo.instance (empty: all)")
	asJSON := f.Bool("json", false, "print JSON")
	if err := f.Parse(args); err != nil {
		return err
	}
	m, done, err := newSandboxManager(app, *instance, false)
	if err != nil {
		return err
	}
	defer done()
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(app.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(app.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tIMAGE\tATTEMPT\tOWNER\tCHALLENGE\tAGE\tEXPIRES IN\tPOOL")
	now := time.Now()
	for _, i := range list {
		exp := "-"
		if !i.Expires.IsZero() {
			exp = i.Expires.Sub(now).Round(time.Second).String()
		}
		age := "-"
		if !i.Created.IsZero() {
			age = now.Sub(i.Created).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%.12s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%v\n", i.ID, i.State, i.Image, dash(i.AttemptID), dash(i.OwnerID), dash(i.ChallengeID), age, exp, i.Pool)
	}
	return tw.Flush()
}

// attemptSandbox reports whether attemptID is a server attempt's (not a
// CLI command's or a self-test's): `rm --expired` never deletes those, as
// the server's reaper hibernates them instead of losing the work.
func attemptSandbox(attemptID string) bool {
	return attemptID != "" && !strings.HasPrefix(attemptID, "cli-") && !strings.HasPrefix(attemptID, "selftest-")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runSandboxRemove(ctx context.Context, app *cli, args []string) error {
	f := newFlagSet(app, "sandbox rm", "sandbox rm [--expired] [ID…]")
	instance := f.String("sandbox-instance", "", "only this io.opsdojo.instance (empty: all)")
	expired := f.Bool("expired", false, "remove every sandbox past its TTL (and stopped ones), except attempts' (the server hibernates those)")
	if err := f.Parse(args); err != nil {
		return err
	}
	ids := f.Args()
	if !*expired && len(ids) == 0 {
		f.fs.Usage()
		return errUsage
	}
	m, done, err := newSandboxManager(app, *instance, false)
	if err != nil {
		return err
	}
	defer done()
	if *expired {
		list, err := m.List(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		var kept []string
		for _, i := range list {
			if i.Pool && i.State == "running" {
				continue
			}
			if (i.Expires.IsZero() || now.Before(i.Expires)) && i.State == "running" {
				continue
			}
			if attemptSandbox(i.AttemptID) {
				kept = append(kept, fmt.Sprintf("%.12s (attempt %s)", i.ID, i.AttemptID))
				continue
			}
			ids = append(ids, i.ID)
		}
		if len(kept) > 0 {
			fmt.Fprintf(app.stderr, "opsdojo sandbox rm: kept %d expired attempt sandbox(es): %s\n"+
				"  the server's reaper hibernates a practice sandbox (the candidate's work is kept) and removes a take-home's after its freeze;\n"+
				"  to delete one anyway, name it: opsdojo sandbox rm ID\n", len(kept), strings.Join(kept, ", "))
		}
	}
	var errs []error
	for _, id := range ids {
		if err := m.Remove(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(app.stdout, "%.12s\n", id)
	}
	return errors.Join(errs...)
}
