package assignments_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/store"
)

// freezeLog records the steps of a freeze in order.
type freezeLog struct {
	mu     sync.Mutex
	events []string
}

func (l *freezeLog) add(ev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *freezeLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// freezingSandboxes is fakeSandboxes plus the Freezer methods. A process
// the candidate armed (armed) writes its file when the sandbox runs after
// the freeze, unless StopTerminalWork came first: like a background loop.
type freezingSandboxes struct {
	*fakeSandboxes
	log     *freezeLog
	mu      sync.Mutex
	paused  map[string]bool
	stopped map[string]bool
	armed   map[string][2]string // sandbox -> path, content
}

func (f *freezingSandboxes) Pause(_ context.Context, id string) error {
	f.mu.Lock()
	f.paused[id] = true
	f.mu.Unlock()
	f.log.add("pause")
	return nil
}

func (f *freezingSandboxes) Unpause(_ context.Context, id string) error {
	f.mu.Lock()
	f.paused[id] = false
	w, armed := f.armed[id]
	act := armed && !f.stopped[id]
	f.mu.Unlock()
	f.log.add("unpause")
	if act {
		f.write(id, w[0], w[1], false)
	}
	return nil
}

func (f *freezingSandboxes) StopTerminalWork(_ context.Context, id string) ([]string, error) {
	f.mu.Lock()
	f.stopped[id] = true
	paused := f.paused[id]
	f.mu.Unlock()
	f.log.add("stop")
	if !paused {
		return nil, nil
	}
	return []string{"42 uid=1000 account: sh -c sleep 1; fix"}, nil
}

func (f *freezingSandboxes) Changes(ctx context.Context, id string) ([]sandbox.Change, error) {
	f.mu.Lock()
	paused := f.paused[id]
	f.mu.Unlock()
	f.log.add("snapshot paused=" + map[bool]string{true: "yes", false: "no"}[paused])
	return f.fakeSandboxes.Changes(ctx, id)
}

func (f *freezingSandboxes) CopyOut(ctx context.Context, id, path string, max int64) (io.ReadCloser, error) {
	return f.fakeSandboxes.CopyOut(ctx, id, path, max)
}

// fakeTerminals records Seal and CloseAttempt.
type fakeTerminals struct{ log *freezeLog }

func (t fakeTerminals) Seal(attemptID, reason string) { t.log.add("seal: " + reason) }
func (t fakeTerminals) CloseAttempt(_ context.Context, attemptID, reason string) int {
	t.log.add("close: " + reason)
	return 1
}

// TestSubmitFreezeSequence: manual and automatic submits take the same
// path, in this order: seal the terminals, pause, close the terminals,
// stop the candidate's processes, snapshot the files while paused, thaw,
// then grade. A process armed before the submit never acts, so the grade
// and the stored files are those of the submit instant.
func TestSubmitFreezeSequence(t *testing.T) {
	t.Parallel()
	for _, automatic := range []bool{false, true} {
		name := map[bool]string{false: "manual submit", true: "automatic submit at the deadline"}[automatic]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, store.DialectSQLite, assignments.Config{})
			ctx := context.Background()
			log := &freezeLog{}
			fz := &freezingSandboxes{fakeSandboxes: e.sb, log: log, paused: map[string]bool{}, stopped: map[string]bool{}, armed: map[string][2]string{}}
			e.att.freezer = fz // the attempts service freezes the sandbox
			svc := assignments.New(e.st, e.att, fz, fakeCatalog{e.att.ch}, nil, e.cfg, slog.New(slog.DiscardHandler), e.clk.Now)
			svc.UseTerminals(fakeTerminals{log})
			e.svc = svc
			a := e.assignment(t, 30*time.Minute)
			link := e.invite(t, a, "frozen@example.com")
			opened, err := svc.Open(ctx, assignments.OpenRequest{Token: link.Token})
			if err != nil {
				t.Fatal(err)
			}
			cand := mustUser(t, e, "frozen@example.com")
			take, err := svc.Take(ctx, assignments.SessionAccess(cand, opened.InviteID), opened.InviteID)
			if err != nil {
				t.Fatal(err)
			}
			at := take.Items[0].Attempt
			fz.mu.Lock()
			fz.armed[at.SandboxID] = [2]string{"/workspace/app.conf", "port = 8080\ndebug = false\n"}
			fz.mu.Unlock()

			if automatic {
				e.clk.Add(31 * time.Minute)
			} else if err := svc.Submit(ctx, cand.ID, opened.InviteID); err != nil {
				t.Fatal(err)
			}
			svc.Sweep(ctx)

			reason := "this take-home was submitted"
			if automatic {
				reason = "time is up: this take-home was submitted automatically"
			}
			want := []string{"seal: " + reason, "pause", "close: " + reason, "stop", "snapshot paused=yes", "unpause"}
			got := log.list()
			if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
				t.Fatalf("freeze steps:\n  %s\nwant first:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			sub, err := e.st.SubmissionByAttempt(ctx, at.ID)
			if err != nil || sub.Automatic != automatic {
				t.Fatalf("submission %+v %v", sub, err)
			}
			var files []assignments.SubmittedFile
			_ = json.Unmarshal([]byte(sub.Files), &files)
			for _, f := range files {
				if f.Path == "/workspace/app.conf" && f.Content() != "port = 80\ndebug = true\n" {
					t.Errorf("stored app.conf %q, want the starter as at submit", f.Content())
				}
			}
			if a2, _ := e.st.AttemptByID(ctx, at.ID); a2.Score != 0 || a2.State != attempts.StateSubmitted {
				t.Fatalf("attempt after submit: score %d state %s, want 0 submitted (the armed process acted after the freeze)", a2.Score, a2.State)
			}
		})
	}
}
