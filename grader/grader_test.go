package grader_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

const probeImage = "opsdojo/probe:latest"

type env struct {
	m *sandbox.Manager
	g *grader.Grader
	b *grader.DockerBuilder
}

func newEnv(t *testing.T) env { return newEnvB(t) }

func newEnvB(t testing.TB) env {
	t.Helper()
	cli := sandboxtest.Client(t)
	sandboxtest.Image(t, cli)
	sandboxtest.NeedImage(t, cli, probeImage, "opsdojo images build")
	log := slog.New(slog.DiscardHandler)
	m, err := sandbox.NewManager(cli, sandbox.Config{Instance: sandboxtest.Instance(t, cli), MaxPerOwner: -1, ProbeImage: probeImage, Runtime: sandboxtest.Runtime()}, log, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b := grader.NewDockerBuilder(sandbox.NewImageBuilder(cli), probeImage)
	// What the builder could not delete in time is the test's to remove.
	t.Cleanup(func() { sandboxtest.SweepLabelled(t, cli, b.LabelFilter()) })
	return env{m: m, g: grader.New(m, b, log, time.Now), b: b}
}

func load(t *testing.T, dir string) *challenges.Challenge { return loadB(t, dir) }

func loadB(t testing.TB, dir string) *challenges.Challenge {
	t.Helper()
	ch, err := challenges.Load(dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return ch
}

func (e env) start(t *testing.T, ctx context.Context, ch *challenges.Challenge, seed int64) string {
	t.Helper()
	spec := grader.SandboxSpec(ch, seed)
	spec.OwnerID, spec.AttemptID = "test", t.Name()
	sb, err := e.m.Create(ctx, spec)
	if err != nil {
		t.Fatalf("create sandbox: %v", err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.m.Remove(cctx, sb.ID)
	})
	return sb.ID
}

func (e env) root(t *testing.T, ctx context.Context, id, script string) string {
	t.Helper()
	res, err := e.m.Exec(ctx, id, []string{"bash", "-c", script}, sandbox.ExecOptions{User: "root", Timeout: time.Minute})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exec %q: %v exit %d\n%s%s", script, err, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

func passed(r grader.Result) map[string]bool {
	out := map[string]bool{}
	for _, c := range r.Checks {
		out[c.ID] = c.Passed
	}
	return out
}

// TestTamperingNeverFakesAPass: a candidate with root in the sandbox
// replaces curl, grep and sh, sets LD_PRELOAD for everything, fakes a
// process name, renames uid 0 to www-data and symlinks answers — and every
// check still reports the honest result. Then the honest fix, made in the
// same tampered sandbox, gets full marks.
func TestTamperingNeverFakesAPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	ch := load(t, "testdata/web-perms")
	id := e.start(t, ctx, ch, 1)

	e.root(t, ctx, id, `set -e
printf '#!/bin/sh\necho 200\nexit 0\n' > /usr/bin/curl                 # a lying curl
cp /bin/true /usr/bin/grep                                              # grep "finds" everything
printf '#!/bin/sh\nexit 0\n' > /tmp/sh && chmod +x /tmp/sh
echo /opt/evil.so > /etc/ld.so.preload                                  # LD_PRELOAD for every binary
echo 'export PATH=/tmp:$PATH' >> /etc/profile                           # PATH hijack
# the right text, but owned by root, with "www-data" renamed to uid 0
echo "hello opsdojo" > /srv/www/index.html && chmod 0644 /srv/www/index.html
sed -i 's/^www-data:x:33:33:/www-data:x:0:0:/' /etc/passwd
# /etc/motd symlinked to a path that only exists in the grader's container
ln -sf /opsdojo/checks/c03.sh /etc/motd
# a process that calls itself python3, running as www-data
setpriv --reuid=33 --regid=33 --clear-groups bash -c 'exec -a /usr/bin/python3 sleep 600' >/dev/null 2>&1 &
`)
	res, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, 1, id))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Checks {
		t.Logf("tampered: %-18s passed=%v %s", c.ID, c.Passed, c.Message)
		if c.Passed {
			t.Errorf("check %s passed in a tampered sandbox: %s", c.ID, c.Message)
		}
		wantNotRunUnderGVisor(t, c, "runs-as-www-data")
	}
	if res.Score != 0 {
		t.Fatalf("tampered score %d, want 0", res.Score)
	}

	// The honest fix in the same sandbox (tools still replaced) scores 100.
	e.root(t, ctx, id, `sed -i 's/^www-data:x:0:0:/www-data:x:33:33:/' /etc/passwd && rm -f /etc/motd`)
	sol := string(ch.SolutionScript())
	res2, err := e.m.Exec(ctx, id, []string{"bash", "-s"}, sandbox.ExecOptions{User: "root", Stdin: strings.NewReader(sol), Timeout: time.Minute})
	if err != nil || res2.ExitCode != 0 {
		t.Fatalf("solution: %v %d %s", err, res2.ExitCode, res2.Stderr)
	}
	res, err = e.g.Grade(ctx, ch, grader.TargetFor(ch, 1, id))
	if err != nil {
		t.Fatal(err)
	}
	if gVisor() { // every check that can be graded from outside passes
		for _, c := range res.Checks {
			wantNotRunUnderGVisor(t, c, "runs-as-www-data")
			if !c.NotRun && !c.Passed {
				t.Errorf("honest fix under gVisor: check %s failed: %s", c.ID, c.Message)
			}
		}
		return
	}
	if !res.FullMarks() {
		t.Fatalf("honest fix in a tampered sandbox scored %d/%d: %+v", res.Score, res.MaxScore, res.Checks)
	}
}

// gVisor reports whether the Docker tests run their sandboxes under runsc.
func gVisor() bool { return sandboxtest.Runtime() == sandbox.RuntimeRunsc }

// wantNotRunUnderGVisor: under gVisor the checks named (those that need a
// process's executable, or a path inside the sentry) are "not run" with a
// message naming gVisor, and no other check is; under runc none is.
func wantNotRunUnderGVisor(t *testing.T, c grader.CheckResult, ids ...string) {
	t.Helper()
	want := gVisor() && slices.Contains(ids, c.ID)
	switch {
	case want && (!c.NotRun || c.Passed || !strings.Contains(c.Message, "gVisor")):
		t.Errorf("check %s under gVisor: not_run=%v passed=%v %q, want not run, naming gVisor", c.ID, c.NotRun, c.Passed, c.Message)
	case !want && c.NotRun:
		t.Errorf("check %s was not run: %s", c.ID, c.Message)
	}
}

// TestTamperingHiddenPathUnderGVisor: an answer the candidate keeps where
// the grader cannot look under gVisor (the sentry's /tmp, reached through
// a symlink) is "not run" there, never a pass or a fail; under runc the
// grader follows the link inside the sandbox and grades the content.
func TestTamperingHiddenPathUnderGVisor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	ch := load(t, "testdata/web-perms")
	c := *ch
	c.Spec.Checks = nil
	for _, k := range ch.Checks {
		if k.ID == "motd" {
			c.Spec.Checks = append(c.Spec.Checks, k)
		}
	}
	id := e.start(t, ctx, &c, 6)
	e.root(t, ctx, id, `echo motd-fixed > /tmp/motd && ln -sf /tmp/motd /etc/motd`)
	res, err := e.g.Grade(ctx, &c, grader.TargetFor(&c, 6, id))
	if err != nil {
		t.Fatal(err)
	}
	r := res.Checks[0]
	t.Logf("motd -> /tmp/motd: passed=%v not_run=%v %s", r.Passed, r.NotRun, r.Message)
	wantNotRunUnderGVisor(t, r, "motd")
	if !gVisor() && !r.Passed {
		t.Errorf("under runc the link is followed inside the sandbox: %s", r.Message)
	}
}

// TestChecksNeverEnterTheSandbox: a root spy in the sandbox scans /proc
// during grading for the checks' processes, files and environment; it
// sees none, and afterwards no file in the sandbox holds any check's text.
func TestChecksNeverEnterTheSandbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	ch := load(t, "testdata/web-perms")
	id := e.start(t, ctx, ch, 2)
	e.root(t, ctx, id, `cat > /usr/local/bin/spy <<'EOF'
#!/bin/bash
end=$((SECONDS+8))
while [ $SECONDS -lt $end ]; do
  for p in /proc/[0-9]*; do
    cat $p/root/opsdojo/checks/* $p/root/opsdojo/run.sh $p/environ 2>/dev/null
    tr '\0' ' ' < $p/cmdline 2>/dev/null; echo
  done
done > /var/spy.log 2>&1
EOF
chmod +x /usr/local/bin/spy; (setsid nohup /usr/local/bin/spy >/dev/null 2>&1 &)`)
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 3; i++ { // grade several times while the spy runs
		if _, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, 2, id)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(6 * time.Second)
	spy := e.root(t, ctx, id, `cat /var/spy.log | sort -u | head -c 200000`)
	secrets := []string{"what the on-call expects", "no python3 process runs as www-data", "@@opsdojo-result", "SANDBOX_ROOT="} // OPSDOJO_SEED is the candidate's own env
	for _, s := range secrets {
		if strings.Contains(spy, s) {
			t.Errorf("the sandbox saw %q during grading", s)
		}
	}
	// The probe has its own PID namespace: not even a command line of the
	// grader is visible (it was, timing permitting, while it shared the
	// sandbox's).
	if strings.Contains(spy, "/opsdojo/") || strings.Contains(spy, "sbx-") {
		t.Errorf("the sandbox saw the grader's processes during grading")
	}
	// Only a file that differs from the image (the container's diff) or
	// lives on a tmpfs can hold what grading wrote; a grep of the whole
	// tree ran out of time under gVisor.
	changes, err := e.m.Changes(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var paths strings.Builder
	for _, c := range changes {
		if c.Kind != "D" {
			paths.WriteString(c.Path + "\n")
		}
	}
	res, err := e.m.Exec(ctx, id, []string{"bash", "-c", `pat=(-e 'what the on-call expects' -e 'sbx-procs')
{ while IFS= read -r p; do if [ -f "$p" ] && [ ! -L "$p" ]; then printf '%s\0' "$p"; fi; done | xargs -0 -r grep -sIl "${pat[@]}" --
  grep -rsIl "${pat[@]}" -- /tmp /var/tmp /dev/shm; } | grep -v '^/var/spy.log$' || true`},
		sandbox.ExecOptions{User: "root", Stdin: strings.NewReader(paths.String()), Timeout: time.Minute})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("search the sandbox's files: %v exit %d %s", err, res.ExitCode, res.Stderr)
	}
	if found := string(res.Stdout); strings.TrimSpace(found) != "" {
		t.Fatalf("check text found in the sandbox's files: %s", found)
	}
}

// TestSymlinkTrapUnderProcRoot proves why checks read candidate paths with
// sbx-path: a naive read under $SANDBOX_ROOT follows an absolute symlink
// into the grader's own filesystem; sbx-path resolves it in the sandbox.
func TestSymlinkTrapUnderProcRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 2*time.Minute)
	ch := load(t, "testdata/web-perms")
	id := e.start(t, ctx, ch, 3)
	e.root(t, ctx, id, `ln -sf /etc/grader-only /etc/motd`)
	res, err := e.m.Probe(ctx, id, sandbox.ProbeSpec{
		Cmd:   []string{"bash", "-c", `echo "naive=$(cat $SANDBOX_ROOT/etc/motd 2>/dev/null)"; echo "safe=$(p=$(sbx-path /etc/motd) && cat "$p" 2>/dev/null)"`},
		Env:   []string{"SANDBOX_ROOT=" + sandbox.ProbeSandboxRoot},
		Files: []sandbox.File{{Path: "/etc/grader-only", Mode: 0o644, Content: []byte("motd-fixed")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Stdout)
	t.Logf("probe output:\n%s", out)
	if !strings.Contains(out, "naive=motd-fixed") {
		t.Logf("naive read did not escape on this kernel")
	}
	if strings.Contains(out, "safe=motd-fixed") {
		t.Fatalf("sbx-path followed the link out of the sandbox: %s", out)
	}
}

func TestGradingIsDeterministicAndPartial(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 2*time.Minute)
	ch := load(t, "testdata/web-perms")
	id := e.start(t, ctx, ch, 4)
	// Half a fix: right page and owner, secret removed, no server, no motd.
	e.root(t, ctx, id, `echo "hello opsdojo" > /srv/www/index.html && chown www-data:www-data /srv/www/index.html && chmod 0644 /srv/www/index.html && rm /srv/www/secret.txt`)
	a, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, 4, id))
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, 4, id))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"serves": false, "page-file": true, "runs-as-www-data": false, "motd": false, "no-secret": true}
	for _, r := range []grader.Result{a, b} {
		if r.Score != 35 || r.MaxScore != 100 {
			t.Fatalf("score %d/%d, want 35/100", r.Score, r.MaxScore)
		}
		for id, p := range passed(r) {
			if want[id] != p {
				t.Errorf("check %s passed=%v, want %v", id, p, want[id])
			}
		}
	}
	for i := range a.Checks {
		if a.Checks[i].Message != b.Checks[i].Message {
			t.Errorf("check %s message changed: %q vs %q", a.Checks[i].ID, a.Checks[i].Message, b.Checks[i].Message)
		}
	}
	for _, c := range a.Checks {
		if !c.Passed && c.Message == "" {
			t.Errorf("failed check %s has no message", c.ID)
		}
	}
}

func TestHangingCheckTimesOutAndOthersStillRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 2*time.Minute)
	ch := load(t, "testdata/hang")
	id := e.start(t, ctx, ch, 5)
	start := time.Now()
	res, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, 5, id))
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	byID := map[string]grader.CheckResult{}
	for _, c := range res.Checks {
		byID[c.ID] = c
	}
	if h := byID["hangs"]; !h.TimedOut || h.Passed || !strings.Contains(h.Message, "timed out after 2s") {
		t.Fatalf("hanging check: %+v", h)
	}
	if q := byID["quick"]; !q.Passed {
		t.Fatalf("the check after the hanging one did not run: %+v", q)
	}
	if took > 30*time.Second {
		t.Fatalf("grading took %s despite a 2s deadline", took)
	}
	if res.Score != 10 {
		t.Fatalf("score %d, want 10", res.Score)
	}
}

func TestSelfTestSample(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 4*time.Minute)
	ch := load(t, "testdata/web-perms")
	rep := grader.NewSelfTester(e.m, e.g, 2).Test(ctx, ch, 1)
	var b strings.Builder
	grader.WriteReport(&b, rep, ch)
	t.Log("\n" + b.String())
	if !rep.OK() {
		t.Fatal("self-test failed")
	}
	if len(rep.Scenarios) != 4 {
		t.Fatalf("%d scenarios, want 4 (unsolved, one wrong fix, solution, solution restored after a hibernation)", len(rep.Scenarios))
	}
}

// TestDockerBuildLimits: builds run without network and under a deadline;
// failures come back as clear check messages, and nothing is left behind.
func TestDockerBuildLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ch := load(t, "testdata/docker-small")
	app := ch.File("starter/app.py")
	cases := []struct {
		name, dockerfile, want string
		timeout                time.Duration
	}{
		{"build runs forever", "FROM python:3.11-slim\nRUN sleep 600\n", "did not finish within 3s", 3 * time.Second},
		{"no network while building", "FROM python:3.11-slim\nRUN python3 -c \"import socket; socket.create_connection(('deb.debian.org', 80), 3)\"\n", "does not build", time.Minute},
		{"unknown instruction", "FROM python:3.11-slim\nFOO bar\n", "does not build", time.Minute},
		{"container exits", "FROM python:3.11-slim\nUSER nobody\nCMD [\"python3\", \"-c\", \"raise SystemExit(3)\"]\n", "exited with status 3", time.Minute},
		{"runs as root", "FROM python:3.11-slim\nCOPY app.py /app.py\nCMD [\"python3\", \"/app.py\"]\n", "runs as root", time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The deadline starts when the subtest runs, not while it
			// waits for a parallel slot behind the package's other tests.
			ctx := sandboxtest.Context(t, 3*time.Minute)
			c := *ch
			c.Spec.Checks = []challenges.Check{ch.Checks[1]}
			bc := *c.Spec.Checks[0].DockerBuild
			bc.BuildTimeout = challenges.Duration(tc.timeout)
			run := *bc.Run
			run.ReadyTimeout = challenges.Duration(5 * time.Second)
			bc.Run = &run
			c.Spec.Checks[0].DockerBuild = &bc
			res, err := e.g.Grade(ctx, &c, grader.Target{Files: map[string][]byte{"/workspace/Dockerfile": []byte(tc.dockerfile), "/workspace/app.py": app}})
			if err != nil {
				t.Fatal(err)
			}
			r := res.Checks[0]
			t.Logf("%s: %s", tc.name, r.Message)
			if r.Passed || !strings.Contains(r.Message, tc.want) {
				t.Fatalf("passed=%v message %q, want it to contain %q", r.Passed, r.Message, tc.want)
			}
		})
	}
}

// TestConcurrentIdenticalBuilds: candidates grading the same Dockerfile at
// the same time share the daemon's build cache; one grade's clean-up must
// never delete an image or cache layer another grade is still using.
func TestConcurrentIdenticalBuilds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 5*time.Minute)
	ch := load(t, "testdata/docker-small")
	c := *ch
	c.Spec.Checks = []challenges.Check{ch.Checks[1]}
	files := map[string][]byte{
		"/workspace/app.py": ch.File("starter/app.py"),
		// A fresh ENV each test run: the first builds start from a cold cache.
		"/workspace/Dockerfile": []byte("FROM python:3.11-slim\nENV TEST_RUN=" + strconv.FormatInt(time.Now().UnixNano(), 10) + "\nWORKDIR /app\nCOPY app.py /app/app.py\n" +
			"RUN useradd --system --uid 10001 hello\nUSER hello\nCMD [\"python3\", \"/app/app.py\"]\n"),
	}
	// Staggered starts: one grade's clean-up lands while another is in
	// the middle of its (cached) build.
	const grades = 12
	errs := make(chan string, grades)
	for i := 0; i < grades; i++ {
		go func() {
			time.Sleep(time.Duration(i) * 350 * time.Millisecond)
			res, err := e.g.Grade(ctx, &c, grader.Target{Files: files})
			switch {
			case err != nil:
				errs <- err.Error()
			case !res.Checks[0].Passed:
				errs <- res.Checks[0].Message
			default:
				errs <- ""
			}
		}()
	}
	for i := 0; i < grades; i++ {
		if msg := <-errs; msg != "" {
			t.Errorf("a grade of a correct Dockerfile failed: %s", msg)
		}
	}
	// Once the last grade is done, none of its images or containers is left.
	imgs, ctrs := sandboxtest.Labelled(t, sandboxtest.Client(t), e.b.LabelFilter())
	if len(imgs) != 0 || len(ctrs) != 0 {
		t.Fatalf("%d images and %d containers of the grader's builds were left behind", len(imgs), len(ctrs))
	}
}

// TestExecutableIdentityTampering: the library's "nginx, not a stand-in,
// listens on 8080" check must not be fooled by python3 copied over
// /usr/sbin/nginx (with the sandbox's own dpkg md5sums edited to match), a
// renamed copy, a symlink, or a faked argv[0]; the real nginx passes before
// and after.
func TestExecutableIdentityTampering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 5*time.Minute)
	ch := load(t, "../library/challenges/nginx-bad-upstream")
	c := *ch
	c.Spec.Checks = nil
	for _, k := range ch.Checks {
		if k.ID == "nginx-listens" {
			c.Spec.Checks = append(c.Spec.Checks, k)
		}
	}
	if len(c.Spec.Checks) != 1 {
		t.Fatal("nginx-bad-upstream has no nginx-listens check")
	}
	id := e.start(t, ctx, &c, 1)
	grade := func() grader.CheckResult {
		t.Helper()
		res, err := e.g.Grade(ctx, &c, grader.TargetFor(&c, 1, id))
		if err != nil {
			t.Fatal(err)
		}
		return res.Checks[0]
	}
	if gVisor() {
		// Identity needs the running executable, which gVisor does not
		// show outside the sandbox: neither the real nginx nor a
		// stand-in may pass; each is "not run", naming gVisor.
		wantNotRunUnderGVisor(t, grade(), "nginx-listens")
	} else if r := grade(); !r.Passed {
		t.Fatalf("the real nginx does not pass: %s", r.Message)
	}
	e.root(t, ctx, id, `cp -a /usr/sbin/nginx /root/nginx.real && nginx -s stop && for i in $(seq 50); do pgrep -x nginx >/dev/null || exit 0; sleep 0.1; done; exit 1`)
	standIn := `(setsid nohup "$bin" -m http.server 8080 --bind 0.0.0.0 >/dev/null 2>&1 &)
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1`
	cases := []struct{ name, tamper string }{
		{"python3 copied over nginx, dpkg md5sums edited", `cp /usr/bin/python3.11 /usr/sbin/nginx
sum=$(md5sum /usr/sbin/nginx | cut -d' ' -f1)
sed -i -E "s#^[0-9a-f]{32}  usr/sbin/nginx\$#$sum  usr/sbin/nginx#" /var/lib/dpkg/info/nginx*.md5sums
grep -q "$sum  usr/sbin/nginx" /var/lib/dpkg/info/nginx*.md5sums
bin=/usr/sbin/nginx`},
		{"renamed copy", `cp /usr/bin/python3.11 /usr/local/sbin/nginx; bin=/usr/local/sbin/nginx`},
		{"symlink", `ln -sf /usr/bin/python3.11 /usr/sbin/nginx; bin=/usr/sbin/nginx`},
		{"argv0", `printf '#!/bin/bash\nexec -a nginx python3 "$@"\n' > /usr/local/bin/fake; chmod +x /usr/local/bin/fake; bin=/usr/local/bin/fake`},
	}
	for _, tc := range cases {
		e.root(t, ctx, id, "set -e\n"+tc.tamper+"\n"+standIn)
		r := grade()
		t.Logf("%s: passed=%v %s", tc.name, r.Passed, r.Message)
		if r.Passed {
			t.Errorf("%s: a stand-in passed as nginx: %s", tc.name, r.Message)
		}
		wantNotRunUnderGVisor(t, r, "nginx-listens")
		e.root(t, ctx, id, `pkill -f 'http[.]server 8080' || true; rm -f /usr/sbin/nginx /usr/local/sbin/nginx; cp -a /root/nginx.real /usr/sbin/nginx
for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8080/ || exit 0; sleep 0.1; done; exit 1`)
	}
	e.root(t, ctx, id, `nginx && sleep 0.5`)
	if gVisor() {
		wantNotRunUnderGVisor(t, grade(), "nginx-listens")
	} else if r := grade(); !r.Passed {
		t.Fatalf("the real nginx, restored, does not pass: %s", r.Message)
	}
}
