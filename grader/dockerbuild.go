package grader

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// Limits of candidate image builds and runs (the build's and the run's
// memory, CPU and pids are sandbox's: sandbox.BuildMemory, RunMemory…).
const (
	maxBuildContext   = 64 << 20
	maxExecOutput     = 64 << 10 // bytes of a run command's output read
	maxLogTail        = 64 << 10 // bytes of a container's log tail kept
	logTailLines      = 40
	defaultReadyWait  = 30 * time.Second
	buildLogTailLines = 30
	// LabelGraderBuild marks images and containers of docker_build checks.
	LabelGraderBuild = "io.opsdojo.grader-build"
)

// BuildRequest is one docker_build check.
type BuildRequest struct {
	Context      io.Reader // tar of the build context, files at its root
	Dockerfile   string    // relative to the context
	BuildTimeout time.Duration
	MaxImageSize int64
	Run          *challenges.BuildRun
	Env          map[string]string // the attempt's environment: ${VAR} in run.env, secret_files, expect_json
}

// BuildResult is what happened.
type BuildResult struct {
	Passed    bool
	Message   string
	Output    string // build log tail and probe output
	ImageSize int64
}

// BuildEngine is what docker_build checks need of the container engine:
// build an image with no network and limits, run it hardened, look at it
// from outside (state, processes, a file, its logs, a command, a probe
// sharing its network), remove it. sandbox.ImageBuilder implements it.
type BuildEngine interface {
	LookupImage(ctx context.Context, ref string) (sandbox.ImageInfo, bool, error)
	Build(ctx context.Context, s sandbox.BuildSpec, log io.Writer) (failure string, err error)
	RemoveImage(ctx context.Context, ref string) error
	CreateRun(ctx context.Context, s sandbox.RunSpec) (id string, err error)
	Start(ctx context.Context, id string) error
	State(ctx context.Context, id string) (sandbox.RunState, error)
	Logs(ctx context.Context, id string, lines int, w io.Writer) error
	Exec(ctx context.Context, id string, cmd []string, maxOut int64) (code int, out string, err error)
	Processes(ctx context.Context, id string, psArgs []string) (titles []string, procs [][]string, err error)
	ReadFile(ctx context.Context, id, path string, max int64) ([]byte, error)
	RunHelper(ctx context.Context, s sandbox.HelperSpec, out io.Writer) (code int, err error)
	RemoveContainer(ctx context.Context, id string) error
}

// DockerBuilder builds candidate images with the Docker daemon: the
// Dockerfile checked by its BuildPolicy first (nothing that could make the
// daemon fetch a URL or pull an image reaches it), RUN steps without
// network, memory and CPU limits, a deadline; runs
// the image hardened (no capabilities, no network, no new privileges) and
// probes it from a probe container sharing only its network namespace.
// Images and containers are always removed.
//
// Concurrent builds share the daemon's build cache: two candidates' builds
// of the same starter reuse each other's layers. Deleting an image prunes
// its untagged parent layers, which a build still in flight may be about
// to use, so images are deleted only while none of this builder's builds
// is running: a build holds cacheMu shared; clean-up queues its image and
// deletes the queue when it can take cacheMu exclusively without waiting.
// The last grade to finish always can, so nothing is left behind.
type DockerBuilder struct {
	eng        BuildEngine
	probeImage string
	policy     BuildPolicy
	id         string // value of LabelGraderBuild on this builder's images and containers

	cacheMu   sync.RWMutex
	pendingMu sync.Mutex
	pending   []string // image tags waiting to be deleted
}

// NewDockerBuilder returns a builder on eng (sandbox.NewImageBuilder) with
// the default build policy; probeImage has curl and bash.
func NewDockerBuilder(eng BuildEngine, probeImage string) *DockerBuilder {
	return &DockerBuilder{eng: eng, probeImage: probeImage, id: randomSuffix()}
}

// WithPolicy sets the build policy (the allowed base images); call it
// before the first build.
func (d *DockerBuilder) WithPolicy(p BuildPolicy) *DockerBuilder {
	d.policy = p
	return d
}

// lookupImage is the policy's ImageLookup: the daemon's local store only.
func (d *DockerBuilder) lookupImage(ctx context.Context, ref string) (LocalImage, bool, error) {
	info, found, err := d.eng.LookupImage(ctx, ref)
	if err != nil || !found {
		return LocalImage{}, found, err
	}
	return LocalImage{Env: info.Env, OnBuild: info.OnBuild}, true, nil
}

// LabelFilter is the label (key=value) on every image and container this
// builder creates.
func (d *DockerBuilder) LabelFilter() string { return LabelGraderBuild + "=" + d.id }

// releaseBudget bounds one release's image deletions; what is left is
// deleted by the next release.
const releaseBudget = 2 * time.Minute

// release deletes img, and every image queued before it, unless a build is
// in flight; then they wait for that build's release. A release that finds
// another one deleting looks again once that one is done, so an image
// queued meanwhile is not forgotten.
func (d *DockerBuilder) release(ctx context.Context, img string) {
	d.pendingMu.Lock()
	d.pending = append(d.pending, img)
	d.pendingMu.Unlock()
	for {
		if !d.cacheMu.TryLock() {
			return // a build is in flight, or another release is deleting and will look again
		}
		failed := d.deletePending(ctx)
		d.cacheMu.Unlock()
		d.pendingMu.Lock()
		more := len(d.pending) > 0
		d.pendingMu.Unlock()
		if !more || ctx.Err() != nil || len(failed) > 0 {
			return
		}
	}
}

// deletePending deletes the queued images; what it could not delete (or
// had no time for) stays queued and is returned. The caller holds cacheMu.
func (d *DockerBuilder) deletePending(ctx context.Context) (failed []string) {
	d.pendingMu.Lock()
	imgs := d.pending
	d.pending = nil
	d.pendingMu.Unlock()
	for i, img := range imgs {
		if ctx.Err() != nil { // out of time: the next release deletes the rest
			failed = append(failed, imgs[i:]...)
			break
		}
		if err := d.eng.RemoveImage(ctx, img); err != nil {
			failed = append(failed, img) // retried at the next release
		}
	}
	if len(failed) > 0 { // kept, not forgotten
		d.pendingMu.Lock()
		d.pending = append(d.pending, failed...)
		d.pendingMu.Unlock()
	}
	return failed
}

// Close deletes the images still queued for deletion (a release that ran
// out of time, or found a build in flight, leaves them to the next one;
// after the last grade there is none), waiting within ctx for builds in
// flight. Call it once no more grades will start (server shutdown, end of
// a CLI run); the error names the images left behind.
func (d *DockerBuilder) Close(ctx context.Context) error {
	locked := make(chan struct{})
	go func() { d.cacheMu.Lock(); close(locked) }()
	select {
	case <-locked:
	case <-ctx.Done():
		go func() { <-locked; d.cacheMu.Unlock() }()
		return fmt.Errorf("close image builder: builds still running: %w", ctx.Err())
	}
	defer d.cacheMu.Unlock()
	if failed := d.deletePending(ctx); len(failed) > 0 {
		return fmt.Errorf("close image builder: %d graded images not deleted (label %s): %s", len(failed), d.LabelFilter(), strings.Join(failed, ", "))
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// BuildAndRun builds, measures, runs and probes; see BuildRequest.
func (d *DockerBuilder) BuildAndRun(ctx context.Context, req BuildRequest) (res BuildResult, err error) {
	tag := "opsdojo-grade/" + randomSuffix() + ":check"
	var containers []string
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, id := range containers {
			_ = d.eng.RemoveContainer(cctx, id)
		}
		// Deleting images (and their untagged parents) is slow on a busy
		// daemon: its own budget, larger than the containers'.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), releaseBudget)
		defer rcancel()
		d.release(rctx, tag)
	}()

	defer func() { res.Output = capOutput(res.Output) }()
	secrets := secretValues(req.Run, req.Env)
	defer func() { res.Output, res.Message = redact(res.Output, secrets), redact(res.Message, secrets) }() // before the cap

	// The daemon sees only a Dockerfile the policy accepted, in the form it
	// was checked in: see buildpolicy.go.
	buildCtx, dfName, checked, refusal, err := d.checkedContext(ctx, req)
	if err != nil {
		return BuildResult{}, err
	}
	if refusal != "" {
		return BuildResult{Message: refusal}, nil
	}

	bctx, cancel := context.WithTimeout(ctx, req.BuildTimeout)
	defer cancel()
	d.cacheMu.RLock()
	blog := &buildLog{}
	buildErr, err := d.eng.Build(bctx, sandbox.BuildSpec{Context: buildCtx, Dockerfile: dfName, Tag: tag, Labels: map[string]string{LabelGraderBuild: d.id}}, blog)
	d.cacheMu.RUnlock() // the image is tagged: its own tag protects it now
	res.Output = blog.Tail()
	var rejected *sandbox.BuildRejectedError
	switch {
	case bctx.Err() != nil:
		res.Message = fmt.Sprintf("the build did not finish within %s", req.BuildTimeout)
		return res, nil
	case errors.As(err, &rejected):
		// The daemon refused the Dockerfile itself (a bad instruction):
		// the candidate's problem, reported to them.
		return BuildResult{Message: "the image does not build: " + daemonMessage(rejected.Msg)}, nil
	case err != nil:
		return BuildResult{}, err
	}
	step := blog.step
	if buildErr != "" {
		res.Message = "the image does not build: "
		if step > 0 && step <= len(checked.StepLines) {
			res.Message += fmt.Sprintf("line %d: ", checked.StepLines[step-1])
		}
		res.Message += daemonMessage(buildErr)
		return res, nil
	}
	ins, found, err := d.eng.LookupImage(ctx, tag)
	if err == nil && !found {
		err = errors.New("not found")
	}
	if err != nil {
		return res, fmt.Errorf("inspect built image: %w", err)
	}
	res.ImageSize = ins.Size
	sizeNote := fmt.Sprintf("image size %s", humanBytes(ins.Size))
	if req.MaxImageSize > 0 && ins.Size > req.MaxImageSize {
		res.Message = fmt.Sprintf("the image builds but is %s, over the limit of %s", humanBytes(ins.Size), humanBytes(req.MaxImageSize))
		return res, nil
	}
	if req.Run == nil {
		res.Passed, res.Message = true, "the image builds; "+sizeNote
		return res, nil
	}
	crID, err := d.eng.CreateRun(ctx, sandbox.RunSpec{Image: tag, Name: "opsdojo-grade-run-" + randomSuffix(), Labels: map[string]string{LabelGraderBuild: d.id},
		Env: runEnv(req.Run, req.Env), Files: runFiles(req.Run, req.Env)})
	if err != nil {
		res.Message = "the image builds but a container cannot be created from it: " + daemonMessage(err.Error())
		return res, nil
	}
	containers = append(containers, crID)
	if err := d.eng.Start(ctx, crID); err != nil {
		res.Message = "the image builds but does not start: " + daemonMessage(err.Error())
		return res, nil
	}
	run := req.Run
	wait := run.ReadyTimeout.D()
	if wait <= 0 {
		wait = defaultReadyWait
	}
	var problems []string
	switch {
	case run.Port > 0:
		time.Sleep(200 * time.Millisecond) // a container that dies at once is reported as such
		if st, err := d.eng.State(ctx, crID); err == nil && !st.Running {
			problems = append(problems, d.notServing(ctx, crID, run, ""))
			break
		}
		ok, out, err := d.probePort(ctx, crID, run, wait)
		if err != nil {
			return res, err
		}
		res.Output = strings.TrimSpace(res.Output + "\n--- probe ---\n" + out)
		if !ok {
			problems = append(problems, d.notServing(ctx, crID, run, out))
		} else if msg := judgeProbeBody(run, out, req.Env); msg != "" {
			problems = append(problems, msg)
		}
	case len(run.Command) > 0:
		code, out, err := d.execIn(ctx, crID, run.Command, wait)
		res.Output = strings.TrimSpace(res.Output + "\n--- command ---\n" + out)
		if err != nil {
			problems = append(problems, "the command could not run: "+daemonMessage(err.Error()))
		} else if code != 0 {
			problems = append(problems, fmt.Sprintf("`%s` exited with status %d", strings.Join(run.Command, " "), code))
		}
	}
	if run.ExpectUser != "" && len(problems) == 0 {
		if msg := d.checkUser(ctx, crID, run.ExpectUser); msg != "" {
			problems = append(problems, msg)
		}
	}
	if run.ExpectExe != "" && len(problems) == 0 {
		if msg := d.checkExe(ctx, crID, run.ExpectExe); msg != "" {
			problems = append(problems, msg)
		}
	}
	// The program's own output is the candidate's: shown, bounded.
	// Each half keeps its tail, so a chatty program cannot push the
	// candidate's build output out of the capped whole.
	if l := d.logs(ctx, crID); l != "" {
		res.Output = strings.TrimSpace(capTail(res.Output, maxOutputBytes/2) + "\n--- container log ---\n" + capTail(l, maxOutputBytes/2-64))
	}
	if len(problems) > 0 {
		res.Message = strings.Join(problems, "; ") + "; " + sizeNote
		return res, nil
	}
	res.Passed = true
	if run.Port > 0 {
		p := run.HTTPPath
		if p == "" {
			p = "/"
		}
		res.Message = fmt.Sprintf("the container answers on port %d (%s); %s", run.Port, p, sizeNote)
	} else {
		res.Message = "the container runs as expected; " + sizeNote
	}
	return res, nil
}

// buildLog is an io.Writer for the text a build prints; it keeps the last
// lines that are the candidate's (their instructions and what their RUN
// steps printed; not the daemon's own messages: layer and container ids,
// cache hits of other candidates' builds, tags) and the last step number
// the daemon started (1-based; 0 if none).
//
// The daemon cuts a long line into several messages (writes): a line is
// what ends with a newline, however many writes carry it. partial holds
// its start, at most maxOutputLine+1 bytes (capLine shows the first
// maxOutputLine and marks the cut).
type buildLog struct {
	lines   []string
	partial strings.Builder
	step    int
}

func (b *buildLog) Write(p []byte) (int, error) {
	text := string(p)
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			b.add(text)
			break
		}
		b.add(text[:i])
		b.flush()
		text = text[i+1:]
	}
	return len(p), nil
}

func (b *buildLog) add(text string) {
	if room := maxOutputLine + 1 - b.partial.Len(); room > 0 {
		b.partial.WriteString(text[:min(len(text), room)])
	}
}

func (b *buildLog) flush() {
	l := b.partial.String()
	b.partial.Reset()
	if strings.TrimSpace(l) == "" || isDaemonLine(l) {
		return
	}
	if n, ok := stepNumber(l); ok {
		b.step = n
	}
	b.lines = append(b.lines, capLine(l))
	if len(b.lines) > buildLogTailLines {
		b.lines = b.lines[1:]
	}
}

// Tail returns the kept lines, the unfinished last one included.
func (b *buildLog) Tail() string {
	if b.partial.Len() > 0 {
		b.flush()
	}
	return strings.Join(b.lines, "\n")
}

// probePort polls the container's port from a probe container that shares
// only its network namespace.
func (d *DockerBuilder) probePort(ctx context.Context, id string, run *challenges.BuildRun, wait time.Duration) (bool, string, error) {
	p := run.HTTPPath
	if p == "" {
		p = "/"
	}
	want := run.ExpectStatus
	if want == 0 {
		want = 200
	}
	tries := int(wait / (500 * time.Millisecond))
	if tries < 1 {
		tries = 1
	}
	script := fmt.Sprintf(`code=000
for i in $(seq %d); do
  code=$(curl -s -o /tmp/body -w '%%{http_code}' --max-time 2 'http://127.0.0.1:%d%s' || true)
  [ "$code" = "%d" ] && { echo "HTTP $code after ${i} tries"; head -c 8192 /tmp/body; exit 0; }
  sleep 0.5
done
echo "last answer: HTTP $code"; head -c 2000 /tmp/body 2>/dev/null; exit 1
`, tries, run.Port, p, want)
	out := &tailBuffer{max: maxLogTail}
	code, err := d.eng.RunHelper(ctx, sandbox.HelperSpec{Image: d.probeImage, Cmd: []string{"bash", "-c", script}, NetworkOf: id,
		Name: "opsdojo-grade-probe-" + randomSuffix(), Labels: map[string]string{LabelGraderBuild: d.id}}, out)
	switch {
	case errors.Is(err, sandbox.ErrNotRunning):
		return false, "the container stopped before it could be probed", nil
	case ctx.Err() != nil:
		return false, "timed out", nil
	case err != nil:
		return false, "", fmt.Errorf("port probe: %w", err)
	}
	return code == 0, strings.TrimSpace(out.String()), nil
}

func (d *DockerBuilder) logs(ctx context.Context, id string) string {
	// Keep the end: the last lines are what the candidate needs, and one
	// long line can be bigger than the whole excerpt.
	out := &tailBuffer{max: maxLogTail}
	if err := d.eng.Logs(ctx, id, logTailLines, out); err != nil {
		return ""
	}
	return strings.TrimSpace(out.String())
}

// notServing explains a failed port probe: the container may have exited.
func (d *DockerBuilder) notServing(ctx context.Context, id string, run *challenges.BuildRun, probeOut string) string {
	if st, err := d.eng.State(ctx, id); err == nil && !st.Running {
		msg := fmt.Sprintf("the container exited with status %d", st.ExitCode)
		if st.OOMKilled {
			msg += " (out of memory)"
		}
		if l := d.logs(ctx, id); l != "" {
			msg += "; its last output: " + lastLines(l, 5)
		}
		return msg
	}
	return fmt.Sprintf("nothing answered as expected on port %d: %s", run.Port, lastLines(probeOut, 1))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = capLine(l)
	}
	return strings.Join(lines, " | ")
}

func (d *DockerBuilder) execIn(ctx context.Context, id string, cmd []string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, out, err := d.eng.Exec(ctx, id, cmd, maxExecOutput)
	if err != nil && ctx.Err() != nil {
		return 0, out, fmt.Errorf("timed out after %s", timeout)
	}
	return code, out, err
}

// checkUser compares the uid of the container's main process with want (a
// name resolved through the image's own /etc/passwd, or a number).
func (d *DockerBuilder) checkUser(ctx context.Context, id, want string) string {
	uid, err := d.mainProcessUID(ctx, id)
	if err != nil {
		return err.Error()
	}
	wantUID, err := strconv.Atoi(want)
	if err != nil {
		if want == "non-root" {
			if uid == 0 {
				return "the main process runs as root; add a USER instruction"
			}
			return ""
		}
		wantUID = d.uidInImage(ctx, id, want)
		if wantUID < 0 {
			return fmt.Sprintf("user %q does not exist in the image", want)
		}
		if msg := uidZeroAliasProblem(want, wantUID); msg != "" {
			return msg
		}
	}
	if uid != wantUID {
		return fmt.Sprintf("the main process runs as uid %d, expected %s (uid %d)", uid, want, wantUID)
	}
	return ""
}

// mainProcessUID returns the uid of the image's main process: the child of
// the container's init (docker --init's tini, whose host pid the daemon
// reports). ps lists processes by pid, and pids wrap around on a busy host,
// so the list's order says nothing about which process came first.
func (d *DockerBuilder) mainProcessUID(ctx context.Context, id string) (int, error) {
	st, err := d.eng.State(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("cannot inspect the container: %w", err)
	}
	if !st.Running || st.Pid == 0 {
		return 0, errors.New("the container is not running")
	}
	titles, procs, err := d.eng.Processes(ctx, id, []string{"-o", "pid,ppid,uid,etimes"})
	if err != nil {
		return 0, fmt.Errorf("cannot list the container's processes: %w", err)
	}
	return mainProcessUID(titles, procs, st.Pid)
}

// mainProcessUID finds, in ps output with pid, ppid, uid and etimes
// columns, the uid of initPid's oldest child (orphans the init adopted
// later are younger), or of initPid itself when it has no children.
func mainProcessUID(titles []string, procs [][]string, initPid int) (int, error) {
	col := map[string]int{}
	for i, t := range titles {
		col[strings.ToUpper(t)] = i
	}
	pidCol, okPid := col["PID"]
	ppidCol, okPPid := col["PPID"]
	uidCol, okUID := col["UID"]
	ageCol, okAge := col["ELAPSED"]
	if !okAge {
		ageCol, okAge = col["ETIMES"]
	}
	if !okPid || !okPPid || !okUID || !okAge {
		return 0, fmt.Errorf("cannot read the container's processes (columns %v)", titles)
	}
	field := func(p []string, i int) int {
		if i >= len(p) {
			return -1
		}
		n, err := strconv.Atoi(strings.TrimSpace(p[i]))
		if err != nil {
			return -1
		}
		return n
	}
	child, self := -1, -1
	for i, p := range procs {
		switch {
		case field(p, ppidCol) == initPid && (child < 0 || field(p, ageCol) > field(procs[child], ageCol)):
			child = i
		case field(p, pidCol) == initPid:
			self = i
		}
	}
	pick := child
	if pick < 0 {
		pick = self
	}
	if pick < 0 {
		return 0, errors.New("the container has no running process")
	}
	uid := field(procs[pick], uidCol)
	if uid < 0 {
		return 0, fmt.Errorf("cannot read the uid of the container's main process (%q)", procs[pick])
	}
	return uid, nil
}

func (d *DockerBuilder) uidInImage(ctx context.Context, id, name string) int {
	passwd, err := d.eng.ReadFile(ctx, id, "/etc/passwd", 1<<20)
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(passwd))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == name {
			if n, err := strconv.Atoi(f[2]); err == nil {
				return n
			}
		}
	}
	return -1
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// dockerBuildCheck gathers the build context from the target and runs it.
func (g *Grader) dockerBuildCheck(ctx context.Context, t Target, bc *challenges.DockerBuildCheck, r *CheckResult) {
	if g.build == nil {
		r.Message = "docker_build checks are not available on this server (no image builder configured)"
		return
	}
	dir := path.Clean(expand(bc.Context, t.Env))
	tarCtx, err := g.buildContext(ctx, t, dir)
	if err != nil {
		r.Message = fmt.Sprintf("cannot read the build context %s: %v", dir, err)
		return
	}
	df := bc.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	bt := bc.BuildTimeout.D()
	if bt <= 0 {
		bt = challenges.DefaultBuildTimeout
	}
	// bc.Network is refused when the challenge is loaded: builds never
	// have a network (see buildpolicy.go).
	res, err := g.build.BuildAndRun(ctx, BuildRequest{Context: tarCtx, Dockerfile: df, BuildTimeout: bt, MaxImageSize: int64(bc.MaxImageSize), Run: bc.Run, Env: t.Env})
	if err != nil {
		r.Message = "the grader could not build the image: " + err.Error()
		return
	}
	r.Passed, r.Message, r.Output = res.Passed, res.Message, res.Output
}

// buildContext returns a tar of dir with its files at the root.
func (g *Grader) buildContext(ctx context.Context, t Target, dir string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if t.SandboxID == "" {
		var names []string
		for p := range t.Files {
			if strings.HasPrefix(p, dir+"/") {
				names = append(names, p)
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return nil, errors.New("no files submitted under it")
		}
		for _, p := range names {
			c := t.Files[p]
			if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(p, dir+"/"), Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
				return nil, err
			}
			if _, err := tw.Write(c); err != nil {
				return nil, err
			}
		}
		return &buf, tw.Close()
	}
	f, err := g.readFile(ctx, t, dir)
	if err != nil {
		return nil, err
	}
	rc, err := g.sb.CopyOut(ctx, t.SandboxID, f.path, maxBuildContext)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		_, rest, ok := strings.Cut(hdr.Name, "/")
		if !ok || rest == "" {
			continue // the directory itself
		}
		hdr.Name = rest
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				return nil, err
			}
		}
	}
	return &buf, tw.Close()
}
