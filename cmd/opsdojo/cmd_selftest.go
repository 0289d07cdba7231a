package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/images"
	"github.com/opsdojo/opsdojo/sandbox"
)

// runChallengeTest is `opsdojo challenge test PATH… [--runs N]`: self-test
// each challenge in real sandboxes.
func runChallengeTest(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "challenge test", "challenge test [-v] [--runs N] PATH…")
	runs := fs.Int("runs", 1, "how many times to run every scenario (catches flaky checks)")
	parallel := fs.Int("parallel", 2, "scenarios run at once")
	probeImage := fs.String("probe-image", "opsdojo/probe:latest", "trusted image the grader's checks run in")
	verbose := fs.Bool("verbose", false, "log sandbox operations; print every check's result and script output")
	checks := fs.Bool("v", false, "print every check's result (message and output) and the scripts' output for every scenario (failures always show them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) == 0 {
		fmt.Fprintln(app.stderr, "opsdojo challenge test: name one or more challenge directories (or a directory of challenges)")
		return errUsage
	}
	var chs []*challenges.Challenge
	bad := 0
	for _, p := range fs.Args() {
		dirs, err := challengeDirs(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, d := range dirs {
			ch, err := challenges.Load(d)
			if err != nil {
				fmt.Fprintln(app.stdout, err)
				bad++
				continue
			}
			chs = append(chs, ch)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d challenge(s) do not lint; fix them first (opsdojo challenge lint)", bad)
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
	// Challenges that ship their own image (sandbox.image: build) get it
	// built when it is missing; see images.BuildChallenge.
	ib := challengeImages{b: images.NewBuilder(dc, nil, log, app.stdout)}
	for _, ch := range chs {
		if ch.BuildsImage() {
			if err := ib.BuildChallengeImage(ctx, ch); err != nil {
				return fmt.Errorf("%s: %w", ch.Dir, err)
			}
		}
	}
	instance := fmt.Sprintf("selftest-%d", time.Now().UnixNano())
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: instance, MaxPerOwner: -1, ProbeImage: *probeImage}, log, time.Now)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = m.Close(cctx)
	}()
	b := grader.NewDockerBuilder(sandbox.NewImageBuilder(dc), *probeImage)
	defer closeBuilder(ctx, b, log)
	g := grader.New(m, b, log, time.Now)
	st := grader.NewSelfTester(m, g, *parallel)
	failed := 0
	for _, ch := range chs {
		rep := st.Test(ctx, ch, *runs)
		grader.WriteReportWith(app.stdout, rep, ch, grader.ReportOptions{Checks: *checks || *verbose})
		if *checks || *verbose {
			for _, s := range rep.Scenarios {
				if s.ScriptOut != "" {
					fmt.Fprintf(app.stdout, "    [%s run %d] %s\n", s.Name, s.Run, s.ScriptOut)
				}
			}
		}
		if !rep.OK() {
			failed++
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Fprintf(app.stdout, "%d passed, %d failed\n", len(chs)-failed, failed)
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}
