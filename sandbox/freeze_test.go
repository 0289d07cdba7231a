package sandbox

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestFreezeStopsTerminalWork: work started from a terminal before the
// freeze never acts after it — a background loop, an `env -i setsid`
// escapee, a command typed into the paused terminal — while services keep
// running: a root daemon started by setup (no terminal), and, when the
// candidate is root, a daemon they detached from the terminal (the rule in
// freeze.go). The loops sleep past their wake-up time while the sandbox is
// frozen, so at thaw they would act at once unless the queued SIGKILL comes
// first. Under runsc (no side container can join the sandbox's PID
// namespace, and runsc signals no paused process) Pause stops and kills
// them through runsc from outside just before pausing: the same outcome.
// (Before freeze_runsc.go, an exec inside killed by /proc, where the root
// rule found no tty. The checks use `[ -e ]`: under runsc 20221219 `ls`
// of a path answers "Invalid argument", statx's AT_NO_AUTOMOUNT.)
func TestFreezeStopsTerminalWork(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	if testRuntime() != RuntimeRunc {
		cfg.ProbeImage = probeImageForTest // the runsc freeze helper needs it
	}
	m := newManager(t, e, cfg, nil)
	// How the armed loops wait. Under runc they sleep past their wake-up
	// time while frozen. Under runsc the kill comes from a helper started
	// at Pause, seconds later on a loaded host, before the pause: there
	// they wait for /srv/go, which the test creates after the thaw (no
	// timing assumption), and whatever survived acts then.
	wait := 2
	sleep := fmt.Sprintf("sleep %d", wait)
	if testRuntime() != RuntimeRunc {
		wait, sleep = 0, "until [ -e /srv/go ]; do sleep 0.1; done"
	}
	// A daemon root detaches from the terminal. gVisor gives an exec'd
	// terminal no controlling tty, so there "detached" means out of the
	// terminal's process tree (double fork); runc reads the tty.
	detach := "setsid sh -c 'sleep 2; echo daemon > /root/d; exec sleep 1000' </dev/null >/dev/null 2>&1 &"
	if testRuntime() != RuntimeRunc {
		detach = "(" + detach + ");"
	}
	ctx := sandboxtest.Context(t, 120*time.Second)

	type check struct{ script, want string }
	cases := []struct {
		name  string
		user  string
		typed string  // typed into a terminal before the freeze
		after string  // typed into the paused terminal
		want  []check // run as root after the thaw
	}{
		{
			name:  "candidate account",
			user:  "candidate",
			typed: strings.ReplaceAll("(sleep 2; echo bg > /srv/f) & env -i setsid sh -c 'sleep 2; echo escaped > /home/candidate/g' </dev/null >/dev/null 2>&1 & nohup sh -c 'sleep 2; echo nohup > ~/h' >/dev/null 2>&1 & sleep 0.5; echo ar''med\n", "sleep 2", sleep),
			after: "echo typed-after > /srv/f\n",
			want: []check{
				{"cat /srv/f", "broken"},
				{"for f in /home/candidate/g /home/candidate/h; do [ -e $f ] || echo missing; done | grep -c missing", "2"},
				{"pgrep -c -u candidate || true", "0"},
				{"pgrep -c -f 'service-loo[p]'", "1"},
			},
		},
		{
			name:  "root",
			user:  "root",
			typed: strings.ReplaceAll("(sleep 2; echo bg > /srv/f) & env -i sh -c 'sleep 2; echo escaped > /root/g' </dev/null >/dev/null 2>&1 & "+detach+" sleep 0.5; echo ar''med\n", "sleep 2", sleep),
			after: "echo typed-after > /srv/f\n",
			want: []check{
				{"cat /srv/f", "broken"},
				{"[ -e /root/g ] || echo missing", "missing"},
				{"pgrep -c -f 'service-loo[p]'", "1"},
				// Detached from the terminal as root: kept, like a service
				// the candidate restarted (freeze.go says why).
				{"for i in $(seq 100); do [ -s /root/d ] && break; sleep 0.1; done; cat /root/d", "daemon"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sb := mustCreate(t, ctx, m, Spec{Image: e.image, User: c.user,
				Setup: []byte("echo broken > /srv/f; chmod 666 /srv/f\n" +
					"setsid bash -c 'exec -a service-loop sh -c \"while :; do sleep 0.2; done\"' </dev/null >/dev/null 2>&1 &\n")})
			if res := run(t, ctx, m, sb.ID, "root", "cat /srv/f; pgrep -c -f 'service-loo[p]'", 10*time.Second); string(res.Stdout) != "broken\n1\n" {
				t.Fatalf("setup: %q %q", res.Stdout, res.Stderr)
			}
			term, err := m.Attach(ctx, sb.ID, AttachOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer term.Close()
			out := newCollector(term)
			if _, err := term.Write([]byte(c.typed)); err != nil {
				t.Fatal(err)
			}
			if !out.waitFor("armed", 30*time.Second) { // gVisor spawns slowly on a loaded host
				t.Fatalf("terminal: %q", out.String())
			}
			if err := m.Pause(ctx, sb.ID); err != nil {
				t.Fatal(err)
			}
			if err := m.Pause(ctx, sb.ID); err != nil {
				t.Fatalf("second Pause: %v", err)
			}
			_, _ = term.Write([]byte(c.after))
			killed, err := m.StopTerminalWork(ctx, sb.ID)
			if err != nil {
				_ = m.Unpause(ctx, sb.ID)
				t.Fatal(err)
			}
			t.Logf("killed:\n%s", strings.Join(killed, "\n"))
			time.Sleep(time.Duration(wait)*time.Second + 500*time.Millisecond) // the loops' sleeps end while frozen
			if err := m.Unpause(ctx, sb.ID); err != nil {
				t.Fatal(err)
			}
			if err := m.Unpause(ctx, sb.ID); err != nil {
				t.Fatalf("second Unpause: %v", err)
			}
			if testRuntime() != RuntimeRunc {
				run(t, ctx, m, sb.ID, "root", "touch /srv/go", 10*time.Second)
				time.Sleep(3 * time.Second) // the survivors poll every 0.1 s
			}
			time.Sleep(500 * time.Millisecond) // what survived would act now
			for _, w := range c.want {
				res := run(t, ctx, m, sb.ID, "root", w.script, 10*time.Second)
				if got := strings.TrimSpace(string(res.Stdout)); got != w.want {
					t.Errorf("%s: %q, want %q (stderr %q)", w.script, got, w.want, res.Stderr)
				}
			}
		})
	}
}
