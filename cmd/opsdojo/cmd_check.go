package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
)

// runChallengeCheck is `opsdojo challenge check DIR --sandbox ID|--attempt
// ID [CHECK…]`: run the challenge's checks (all, or the named ones) against
// a live sandbox, as the grader does, and print each result with its
// message and output. The sandbox is left as it is.
func runChallengeCheck(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "challenge check", "challenge check DIR --sandbox ID|--attempt ID [--seed N] [CHECK…]\n\nRuns the checks of the challenge in DIR (all, or the CHECK ids named) against a live sandbox and prints each result")
	sandboxID := fs.String("sandbox", "", "sandbox container ID (or unique prefix, or name; see opsdojo sandbox ls)")
	attemptID := fs.String("attempt", "", "attempt ID: its running sandbox is checked")
	seedFlag := fs.String("seed", "", "the attempt's seed (default: OPSDOJO_SEED of the sandbox; needed for a seeded challenge whose sandbox came from the warm pool)")
	instance := fs.String("sandbox-instance", "", "io.opsdojo.instance label of the sandboxes (empty: all)")
	probeImage := fs.String("probe-image", "opsdojo/probe:latest", "trusted image the grader's checks run in")
	runtime := fs.String("runtime", sandbox.RuntimeRunc, "runtime of the sandbox: runc or runsc (as the server's --runtime)")
	verbose := fs.Bool("verbose", false, "log sandbox operations")
	// Flags may come before or after the positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) == 0 || (*sandboxID == "") == (*attemptID == "") {
		fmt.Fprintln(app.stderr, "opsdojo challenge check: name the challenge directory and exactly one of --sandbox ID or --attempt ID")
		fs.fs.Usage()
		return errUsage
	}
	ch, err := challenges.Load(pos[0])
	if err != nil {
		return fmt.Errorf("%s does not lint:\n%w", pos[0], err)
	}
	sub, err := selectChecks(ch, pos[1:])
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(app.stderr, &slog.HandlerOptions{Level: level}))
	dc, err := newDockerClient()
	if err != nil {
		return err
	}
	defer dc.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = sandbox.NewPinger(dc).Ping(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%w\n  fix: start dockerd (scripts/setup-host.sh)", err)
	}
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: *instance, MaxPerOwner: -1, ProbeImage: *probeImage, Runtime: *runtime}, log, time.Now)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = m.Close(cctx) // tracked sandboxes are left running
	}()
	id := *sandboxID
	if *attemptID != "" {
		if id, err = runningSandboxOf(ctx, m, *attemptID); err != nil {
			return err
		}
	}
	sb, env, err := m.Track(ctx, id)
	if err != nil {
		return err
	}
	if sb.ChallengeID != "" && sb.ChallengeID != ch.ID {
		return fmt.Errorf("sandbox %.12s runs challenge %q, not %q (%s)", sb.ID, sb.ChallengeID, ch.ID, pos[0])
	}
	seed, err := checkSeed(ch, *seedFlag, env)
	if err != nil {
		return err
	}
	b := grader.NewDockerBuilder(sandbox.NewImageBuilder(dc), *probeImage)
	defer closeBuilder(ctx, b, log)
	g := grader.New(m, b, log, time.Now)
	res, err := g.Grade(ctx, sub, grader.TargetFor(sub, seed, sb.ID))
	if err != nil {
		return err
	}
	fmt.Fprintf(app.stdout, "%s against sandbox %.12s (seed %d)\n", ch.ID, sb.ID, seed)
	grader.WriteChecks(app.stdout, res.Checks, "  ")
	passed := 0
	for _, c := range res.Checks {
		if c.Passed {
			passed++
		}
	}
	fmt.Fprintf(app.stdout, "%d/%d points, %d of %d check(s) passed\n", res.Score, res.MaxScore, passed, len(res.Checks))
	if passed < len(res.Checks) {
		return &exitError{code: 1}
	}
	return nil
}

// selectChecks returns ch with only the named checks (all when none are
// named), in spec order.
func selectChecks(ch *challenges.Challenge, ids []string) (*challenges.Challenge, error) {
	if len(ids) == 0 {
		return ch, nil
	}
	sub := *ch
	sub.Checks = nil
	var all []string
	for _, c := range ch.Checks {
		all = append(all, c.ID)
	}
	want := map[string]bool{}
	for _, id := range ids {
		if _, ok := ch.CheckByID(id); !ok {
			return nil, fmt.Errorf("%s has no check %q; its checks: %s", ch.ID, id, strings.Join(all, ", "))
		}
		want[id] = true
	}
	for _, c := range ch.Checks {
		if want[c.ID] {
			sub.Checks = append(sub.Checks, c)
		}
	}
	return &sub, nil
}

// runningSandboxOf finds the running sandbox of an attempt.
func runningSandboxOf(ctx context.Context, m *sandbox.Manager, attemptID string) (string, error) {
	infos, err := m.List(ctx)
	if err != nil {
		return "", err
	}
	for _, in := range infos {
		if in.AttemptID == attemptID && !in.Pool && in.State == "running" {
			return in.ID, nil
		}
	}
	return "", fmt.Errorf("attempt %s has no running sandbox (ended, or hibernated: open it in the browser to restore it); opsdojo sandbox ls lists the sandboxes", attemptID)
}

// checkSeed is the seed the sandbox's checks run with: --seed, else the
// sandbox's OPSDOJO_SEED. A seeded challenge cannot be checked without it.
func checkSeed(ch *challenges.Challenge, flag string, env map[string]string) (int64, error) {
	v := flag
	if v == "" {
		v = env["OPSDOJO_SEED"]
	}
	if v == "" {
		if ch.Seed != nil && len(ch.Seed.Vars) > 0 {
			return 0, errors.New("the sandbox does not say its seed (a warm-pool sandbox): pass the attempt's seed with --seed")
		}
		return 0, nil
	}
	seed, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q is not a whole number", v)
	}
	return seed, nil
}
