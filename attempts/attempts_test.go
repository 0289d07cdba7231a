package attempts_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

const probeImage = "opsdojo/probe:latest"

type fixture struct {
	st  *store.Store
	m   *sandbox.Manager
	svc *attempts.Service
	cat *challenges.Catalog
	g   *grader.Grader
}

func newFixture(t *testing.T, dialect string, cfg attempts.Config) *fixture {
	t.Helper()
	cli := sandboxtest.Client(t)
	sandboxtest.Image(t, cli)
	log := slog.New(slog.DiscardHandler)
	m, err := sandbox.NewManager(cli, sandbox.Config{Instance: sandboxtest.Instance(t, cli), MaxPerOwner: -1, ProbeImage: probeImage}, log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	cat := challenges.NewCatalog(challenges.CatalogOptions{Roots: []string{"../grader/testdata"}, Logger: log})
	if err := cat.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, dialect)
	g := grader.New(m, nil, log, time.Now)
	return &fixture{st: st, m: m, cat: cat, g: g, svc: attempts.New(st, m, cat, g, cfg, log, time.Now)}
}

func (f *fixture) user(t *testing.T) string {
	t.Helper()
	u := &accounts.User{Email: ids.New()[:8] + "@example.com", Role: accounts.RoleCandidate, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := f.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestPracticeFlow(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect, attempts.Config{Workers: 1, PollInterval: 100 * time.Millisecond})
			ctx := sandboxtest.Context(t, 3*time.Minute)
			wctx, stop := context.WithCancel(ctx)
			defer stop()
			go f.svc.RunWorkers(wctx)
			uid, other := f.user(t), f.user(t)

			a, err := f.svc.Start(ctx, "web-perms", attempts.StartOptions{UserID: uid})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = f.svc.End(context.Background(), a, attempts.StateAbandoned) })
			if a.SandboxID == "" || a.Seed == 0 {
				t.Fatalf("attempt without sandbox or seed: %+v", a)
			}
			if _, err := f.svc.Get(ctx, a.ID, other); !errors.Is(err, attempts.ErrNotFound) {
				t.Fatalf("another user reads the attempt: %v", err)
			}
			// Unsolved: check gives 0 with per-check messages.
			job, err := f.svc.Check(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			j, run, err := f.svc.Wait(ctx, job.ID)
			if err != nil || j.State != attempts.JobDone || run == nil {
				t.Fatalf("wait: %v %+v", err, j)
			}
			if run.Score != 0 || run.MaxScore != 100 || len(run.Results) != 5 {
				t.Fatalf("unsolved run: %d/%d with %d results", run.Score, run.MaxScore, len(run.Results))
			}
			// A hint costs its points once.
			if _, err := f.svc.RevealHint(ctx, a, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.RevealHint(ctx, a, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.RevealHint(ctx, a, 7); !errors.Is(err, attempts.ErrUnknownHint) {
				t.Fatalf("hint 7: %v", err)
			}
			if cost, _ := f.svc.HintCost(ctx, a); cost != 5 {
				t.Fatalf("hint cost %d, want 5", cost)
			}
			// Solve, check again: full marks, attempt score minus the hint.
			ch, _ := f.cat.Get("web-perms")
			if res, err := f.m.Exec(ctx, a.SandboxID, []string{"bash", "-s"}, sandbox.ExecOptions{User: "root", Stdin: strings.NewReader(string(ch.SolutionScript())), Timeout: time.Minute}); err != nil || res.ExitCode != 0 {
				t.Fatalf("solution: %v %s", err, res.Stderr)
			}
			job, _ = f.svc.Check(ctx, a)
			_, run, err = f.svc.Wait(ctx, job.ID)
			if err != nil || run == nil || run.Score != 100 {
				t.Fatalf("solved run: %v %+v", err, run)
			}
			got, _ := f.svc.Get(ctx, a.ID, uid)
			if got.Score != 95 {
				t.Fatalf("attempt score %d, want 95 (100 minus a 5-point hint)", got.Score)
			}
			// Reset gives a fresh, unsolved sandbox.
			old := got.SandboxID
			if err := f.svc.Reset(ctx, got); err != nil {
				t.Fatal(err)
			}
			if got.SandboxID == old || got.SandboxID == "" {
				t.Fatal("reset kept the sandbox")
			}
			job, _ = f.svc.Check(ctx, got)
			if _, run, _ = f.svc.Wait(ctx, job.ID); run == nil || run.Score != 0 {
				t.Fatalf("after reset: %+v", run)
			}
			// Ended attempts refuse checks.
			if err := f.svc.End(ctx, got, attempts.StateSubmitted); err != nil {
				t.Fatal(err)
			}
			got, _ = f.svc.Get(ctx, a.ID, uid)
			if _, err := f.svc.Check(ctx, got); !errors.Is(err, attempts.ErrNotActive) {
				t.Fatalf("check after end: %v", err)
			}
		})
	}
}

// TestJobSurvivesAKilledServer: a job leased by a worker that died (its
// lease lapses) is finished by the next server's workers.
func TestJobSurvivesAKilledServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, store.DialectSQLite, attempts.Config{Workers: 1, Lease: 2 * time.Second, PollInterval: 100 * time.Millisecond})
	ctx := sandboxtest.Context(t, 2*time.Minute)
	uid := f.user(t)
	a, err := f.svc.Start(ctx, "web-perms", attempts.StartOptions{UserID: uid})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.svc.End(context.Background(), a, attempts.StateAbandoned) })
	job, err := f.svc.Check(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	// The "killed" server took the job and vanished without finishing it.
	if _, err := f.st.LeaseJob(ctx, "dead-server/w0", time.Now().UTC(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	// A new server (fresh service, same store) starts its workers.
	log := slog.New(slog.DiscardHandler)
	next := attempts.New(f.st, f.m, f.cat, f.g, attempts.Config{Workers: 1, Lease: 2 * time.Second, PollInterval: 100 * time.Millisecond}, log, time.Now)
	if _, err := next.Challenge(a); err != nil {
		// The new process has not seen the version yet; the catalog has it.
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go next.RunWorkers(wctx)
	j, run, err := next.Wait(ctx, job.ID)
	if err != nil || j.State != attempts.JobDone || run == nil {
		t.Fatalf("job after restart: %v %+v", err, j)
	}
	if j.Tries != 2 || !strings.HasPrefix(j.LeaseOwner, "opsdojo-") {
		t.Fatalf("job tries %d owner %q: want a second try by the new server", j.Tries, j.LeaseOwner)
	}
}
