package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nektos/act/pkg/exprparser"
	"github.com/nektos/act/pkg/model"

	"github.com/opsdojo/opsdojo/sandbox"
)

// Defaults of a run.
const (
	DefaultImage       = "opsdojo/runner:latest"
	DefaultStepTimeout = 10 * time.Minute
	DefaultJobTimeout  = 30 * time.Minute
	DefaultMaxStepLog  = 64 << 10
	MaxArtifactBytes   = 16 << 20

	runnerUser = "runner"
	runnerUID  = 1001
	homeDir    = "/home/runner"
	tempDir    = homeDir + "/_temp"
	stageDir   = homeDir + "/.opsdojo" // the repository copy actions/checkout copies from
	stageRepo  = stageDir + "/repo"
)

// Statuses of jobs and steps.
const (
	StatusSuccess   = "success"
	StatusFailure   = "failure"
	StatusSkipped   = "skipped"
	StatusCancelled = "cancelled"
)

// Backend is what the runner needs from the sandbox package: job
// containers are sandboxes (same baseline, drift check, no network).
type Backend interface {
	Create(ctx context.Context, s sandbox.Spec) (*sandbox.Sandbox, error)
	Exec(ctx context.Context, id string, cmd []string, opts sandbox.ExecOptions) (sandbox.ExecResult, error)
	CopyIn(ctx context.Context, id, dstDir string, r io.Reader) error
	CopyOut(ctx context.Context, id, srcPath string, maxBytes int64) (io.ReadCloser, error)
	Remove(ctx context.Context, id string) error
}

// Options tune a Runner. Zero values take the defaults above.
type Options struct {
	Image       string  // runner image; every runs-on label maps to it
	CPUs        float64 // per job container (sandbox defaults when zero)
	Memory      int64
	Pids        int64
	StepTimeout time.Duration // when a step sets no timeout-minutes
	JobTimeout  time.Duration // when a job sets no timeout-minutes
	MaxStepLog  int           // bytes of a step's output kept
	Event       string        // github.event_name, default push
	OwnerID     string        // sandbox owner of the job containers
	Secrets     map[string]string
	// OnStep and OnJob report progress (the CLI prints with them).
	OnStep func(j *JobResult, s *StepResult)
	OnJob  func(j *JobResult)
}

// Runner runs workflows in sandbox containers.
type Runner struct {
	b   Backend
	o   Options
	log *slog.Logger
}

// New returns a Runner over b.
func New(b Backend, o Options, log *slog.Logger) *Runner {
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = DefaultStepTimeout
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.MaxStepLog <= 0 {
		o.MaxStepLog = DefaultMaxStepLog
	}
	if o.Event == "" {
		o.Event = "push"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{b: b, o: o, log: log.With("component", "pipeline")}
}

// Result is a whole run.
type Result struct {
	Workflows []*WorkflowResult
	Artifacts map[string]*Artifact // by name
	Duration  time.Duration
}

// Passed reports whether every job of every workflow passed (a skipped
// job counts as not passed only when it was skipped because a need failed;
// one skipped by its own if: is fine).
func (r *Result) Passed() bool {
	if len(r.Workflows) == 0 {
		return false
	}
	for _, w := range r.Workflows {
		for _, j := range w.Jobs {
			if j.Status == StatusFailure || j.Status == StatusCancelled || (j.Status == StatusSkipped && j.NeedFailed) {
				return false
			}
		}
	}
	return true
}

// WorkflowResult is one workflow's jobs, in the order they ran.
type WorkflowResult struct {
	File     string
	Name     string
	Jobs     []*JobResult
	Workflow *Workflow
}

// Job returns the results of a job id (one per matrix combination).
func (w *WorkflowResult) Job(id string) []*JobResult {
	var out []*JobResult
	for _, j := range w.Jobs {
		if j.ID == id {
			out = append(out, j)
		}
	}
	return out
}

// JobResult is one job (one matrix combination of it).
type JobResult struct {
	ID         string
	Name       string
	Matrix     map[string]any
	Status     string
	NeedFailed bool   // skipped because a job it needs did not succeed
	Message    string // why the job failed or was skipped, when not a step
	Steps      []*StepResult
	Outputs    map[string]string
	Seq        int // 1-based position in the run
	Duration   time.Duration
}

// StepResult is one step.
type StepResult struct {
	Name         string
	ID           string
	Uses         string
	Status       string // outcome after continue-on-error: success, failure, skipped
	Outcome      string // before continue-on-error
	ExitCode     int
	Log          string
	LogTruncated bool
	Outputs      map[string]string
	Duration     time.Duration
}

// Artifact is an uploaded artifact: its files by slash path.
type Artifact struct {
	Name  string
	Files map[string][]byte
}

// Run loads repo's workflows and runs each; an invalid workflow is an
// *InvalidError before anything runs. The error is for a run that could
// not happen (Docker, context); failing jobs are in the Result.
func (r *Runner) Run(ctx context.Context, repo *Repo) (*Result, error) {
	wfs, err := Load(repo)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res := &Result{Artifacts: map[string]*Artifact{}}
	seq := 0
	for _, w := range wfs {
		wr := &WorkflowResult{File: w.File, Name: w.Name, Workflow: w}
		res.Workflows = append(res.Workflows, wr)
		if err := r.runWorkflow(ctx, repo, w, wr, res, &seq); err != nil {
			res.Duration = time.Since(start)
			return res, err
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

func (r *Runner) runWorkflow(ctx context.Context, repo *Repo, w *Workflow, wr *WorkflowResult, res *Result, seq *int) error {
	needs := map[string]exprparser.Needs{}
	for _, id := range w.Order {
		job := w.m.Jobs[id]
		job.Result = ""
		matrices, err := job.GetMatrixes()
		if err != nil {
			jr := &JobResult{ID: id, Name: id, Status: StatusFailure, Message: err.Error()}
			*seq++
			jr.Seq = *seq
			wr.Jobs = append(wr.Jobs, jr)
			job.Result = StatusFailure
			r.report(jr)
			continue
		}
		overall := StatusSuccess
		outputs := map[string]string{}
		failed := false
		for _, mx := range matrices {
			jr := &JobResult{ID: id, Matrix: mx, Outputs: map[string]string{}}
			*seq++
			jr.Seq = *seq
			if failed && (job.Strategy == nil || job.Strategy.FailFast) {
				jr.Name = jobName(job, id, mx)
				jr.Status = StatusCancelled
				jr.Message = "cancelled: another matrix job failed (fail-fast)"
				wr.Jobs = append(wr.Jobs, jr)
				r.report(jr)
				continue
			}
			jc := &jobCtx{r: r, repo: repo, w: w, id: id, job: job, matrix: mx, needs: needs, res: res, jr: jr}
			if err := jc.run(ctx); err != nil {
				wr.Jobs = append(wr.Jobs, jr)
				return err
			}
			wr.Jobs = append(wr.Jobs, jr)
			r.report(jr)
			switch jr.Status {
			case StatusFailure, StatusCancelled:
				failed = true
				overall = StatusFailure
			case StatusSkipped:
				if overall == StatusSuccess {
					overall = StatusSkipped
				}
			}
			maps.Copy(outputs, jr.Outputs)
		}
		job.Result = overall
		needs[id] = exprparser.Needs{Outputs: outputs, Result: overall}
	}
	return nil
}

func (r *Runner) report(jr *JobResult) {
	if r.o.OnJob != nil {
		r.o.OnJob(jr)
	}
}

func jobName(job *model.Job, id string, mx map[string]any) string {
	name := job.Name
	if name == "" {
		name = id
	}
	if len(mx) > 0 && !strings.Contains(job.Name, "${{") {
		var vals []string
		for _, k := range slices.Sorted(maps.Keys(mx)) {
			vals = append(vals, exprString(mx[k]))
		}
		name += " (" + strings.Join(vals, ", ") + ")"
	}
	return name
}

// jobCtx is one job run.
type jobCtx struct {
	r      *Runner
	repo   *Repo
	w      *Workflow
	id     string
	job    *model.Job
	matrix map[string]any
	needs  map[string]exprparser.Needs
	res    *Result
	jr     *JobResult

	sb        string // sandbox id
	workspace string
	env       map[string]string // workflow + job env, evaluated
	fileEnv   map[string]string // GITHUB_ENV of earlier steps
	pathAdd   []string          // GITHUB_PATH of earlier steps
	steps     map[string]*model.StepResult
	status    string // job status as steps see it
}

func (jc *jobCtx) github() *model.GithubContext {
	return &model.GithubContext{
		Event: map[string]any{}, Workflow: jc.w.Name, RunID: "1", RunNumber: "1", RunAttempt: "1",
		Actor: "opsdojo", Repository: "local/" + jc.repo.Name, RepositoryOwner: "local", EventName: jc.r.o.Event,
		Sha: "0000000000000000000000000000000000000000", Ref: "refs/heads/main", RefName: "main", RefType: "branch",
		Workspace: jc.workspace, Job: jc.id, ServerURL: "http://localhost", APIURL: "http://localhost/api",
	}
}

func (jc *jobCtx) evalEnv(env map[string]string) *exprparser.EvaluationEnvironment {
	status := jc.status
	if status == "" {
		status = StatusSuccess
	}
	strategy := map[string]any{"fail-fast": true, "job-index": 0, "job-total": 1, "max-parallel": 1}
	return &exprparser.EvaluationEnvironment{
		Github: jc.github(), Env: env, Job: &model.JobContext{Status: status}, Steps: jc.steps,
		Runner:  map[string]any{"os": "Linux", "arch": "X64", "name": "opsdojo", "temp": tempDir, "tool_cache": "/opt/hostedtoolcache"},
		Secrets: maps.Clone(jc.r.o.Secrets), Vars: map[string]string{}, Strategy: strategy,
		Matrix: jc.matrix, Needs: jc.needsCtx(), Inputs: map[string]any{},
		HashFiles: jc.hashFiles,
	}
}

// needsCtx is the needs context: only the jobs this job needs.
func (jc *jobCtx) needsCtx() map[string]exprparser.Needs {
	out := map[string]exprparser.Needs{}
	for _, n := range jc.job.Needs() {
		out[n] = jc.needs[n]
	}
	return out
}

func (jc *jobCtx) interp(ctxName string, env map[string]string) exprparser.Interpreter {
	return exprparser.NewInterpeter(jc.evalEnv(env), exprparser.Config{
		Run: &model.Run{Workflow: jc.w.m, JobID: jc.id}, Context: ctxName,
	})
}

func (jc *jobCtx) run(ctx context.Context) error {
	start := time.Now()
	defer func() { jc.jr.Duration = time.Since(start) }()
	jr := jc.jr
	jc.workspace = path.Join(homeDir, "work", jc.repo.Name, jc.repo.Name)
	jc.steps = map[string]*model.StepResult{}
	jc.fileEnv = map[string]string{}

	// Job-level if: with the job context (success() = every need succeeded).
	base := maps.Clone(jc.w.m.Env)
	if base == nil {
		base = map[string]string{}
	}
	ji := jc.interp("job", base)
	jr.Name = jc.interpolate(ji, jobName(jc.job, jc.id, jc.matrix))
	ok, err := evalIf(ji, jc.job.If.Value)
	if err != nil {
		jr.Status, jr.Message = StatusFailure, fmt.Sprintf("if: %v", err)
		return nil
	}
	if !ok {
		jr.Status = StatusSkipped
		for _, n := range jc.job.Needs() {
			if jc.needs[n].Result != StatusSuccess {
				jr.NeedFailed = true
				jr.Message = fmt.Sprintf("skipped: needed job %q did not succeed (%s)", n, orNone(jc.needs[n].Result))
			}
		}
		if jr.Message == "" {
			jr.Message = "skipped: if: condition was false"
		}
		return nil
	}
	for _, l := range jc.job.RunsOn() {
		if ll := strings.ToLower(l); strings.Contains(ll, "windows") || strings.Contains(ll, "macos") {
			jr.Status, jr.Message = StatusFailure, fmt.Sprintf("runs-on %q: only Linux runners exist here (every label maps to %s)", l, jc.r.o.Image)
			return nil
		}
	}
	jc.env = base
	for k, v := range jc.job.Environment() {
		jc.env[k] = jc.interpolate(ji, v)
	}

	timeout := minutes(jc.job.TimeoutMinutes, jc.r.o.JobTimeout)
	jctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if jc.sb == "" {
			return
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer rcancel()
		if err := jc.r.b.Remove(rctx, jc.sb); err != nil {
			jc.r.log.Warn("remove job container", "job", jc.id, "err", err)
		}
	}()
	// A job container that cannot be made or prepared is not the
	// workflow's failure: the run stops with an error (the grader reports
	// the check as not run).
	if err := jc.start(jctx); err != nil {
		jr.Status, jr.Message = StatusFailure, err.Error()
		return fmt.Errorf("pipeline: job %s: %w", jr.Name, err)
	}

	jc.status = StatusSuccess
	for i, st := range jc.job.Steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sr := jc.step(jctx, i, st)
		jr.Steps = append(jr.Steps, sr)
		if jc.r.o.OnStep != nil {
			jc.r.o.OnStep(jr, sr)
		}
	}
	if jctx.Err() != nil && ctx.Err() == nil {
		jc.status = StatusFailure
		jr.Message = fmt.Sprintf("job timed out after %s", timeout)
	}
	jr.Status = jc.status
	oi := jc.interp("job", jc.env)
	for k, v := range jc.job.Outputs {
		jr.Outputs[k] = jc.interpolate(oi, v)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "not run"
	}
	return s
}

func minutes(s string, def time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && f > 0 {
		return time.Duration(f * float64(time.Minute))
	}
	return def
}

// start creates the job container and stages the repository copy.
func (jc *jobCtx) start(ctx context.Context) error {
	o := jc.r.o
	sb, err := jc.r.b.Create(ctx, sandbox.Spec{
		Image: o.Image, User: runnerUser, Hostname: "runner", CPUs: o.CPUs, Memory: o.Memory, Pids: o.Pids,
		Network: sandbox.NetworkNone, OwnerID: o.OwnerID, TTL: minutes(jc.job.TimeoutMinutes, o.JobTimeout) + 5*time.Minute,
		IdleTimeout: -1, Labels: map[string]string{"io.opsdojo.pipeline": jc.id},
	})
	if err != nil {
		return fmt.Errorf("start job container (%s): %w", o.Image, err)
	}
	jc.sb = sb.ID
	tr, err := jc.repo.tarUnder(".opsdojo/repo", runnerUID, runnerUID)
	if err != nil {
		return fmt.Errorf("stage repository: %w", err)
	}
	if err := jc.r.b.CopyIn(ctx, jc.sb, homeDir, tr); err != nil {
		return fmt.Errorf("stage repository: %w", err)
	}
	res, err := jc.r.b.Exec(ctx, jc.sb, []string{"mkdir", "-p", jc.workspace, tempDir}, sandbox.ExecOptions{})
	if err != nil || res.ExitCode != 0 {
		return fmt.Errorf("make workspace: %v %s", err, res.Stderr)
	}
	if jc.repo.Prepare != "" {
		res, err := jc.r.b.Exec(ctx, jc.sb, []string{"bash", "-eo", "pipefail", "-c", jc.repo.Prepare}, sandbox.ExecOptions{WorkDir: stageRepo})
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("prepare script failed (exit %d): %s%s", res.ExitCode, res.Stdout, res.Stderr)
		}
	}
	return nil
}

// stepEnv is the environment of step i: workflow+job env, GITHUB_ENV of
// earlier steps, the step's own env (evaluated), runner variables.
func (jc *jobCtx) stepEnv(i int, st *model.Step) map[string]string {
	env := maps.Clone(jc.env)
	maps.Copy(env, jc.fileEnv)
	si := jc.interp("step", env)
	for k, v := range st.Environment() {
		env[k] = jc.interpolate(si, v)
	}
	n := strconv.Itoa(i)
	maps.Copy(env, map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true", "HOME": homeDir, "GITHUB_WORKSPACE": jc.workspace,
		"GITHUB_REPOSITORY": "local/" + jc.repo.Name, "GITHUB_REPOSITORY_OWNER": "local", "GITHUB_JOB": jc.id,
		"GITHUB_WORKFLOW": jc.w.Name, "GITHUB_EVENT_NAME": jc.r.o.Event, "GITHUB_REF": "refs/heads/main",
		"GITHUB_REF_NAME": "main", "GITHUB_SHA": "0000000000000000000000000000000000000000", "GITHUB_RUN_ID": "1",
		"GITHUB_RUN_NUMBER": "1", "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TEMP": tempDir,
		"GITHUB_OUTPUT": tempDir + "/output_" + n, "GITHUB_ENV": tempDir + "/env_" + n,
		"GITHUB_PATH": tempDir + "/path_" + n, "GITHUB_STEP_SUMMARY": tempDir + "/summary_" + n,
		"GITHUB_ACTION": stepID(i, st),
	})
	return env
}

func stepID(i int, st *model.Step) string {
	if st.ID != "" {
		return st.ID
	}
	return "__step" + strconv.Itoa(i)
}

func (jc *jobCtx) step(ctx context.Context, i int, st *model.Step) *StepResult {
	start := time.Now()
	sr := &StepResult{ID: st.ID, Uses: st.Uses, Outputs: map[string]string{}}
	env := jc.stepEnv(i, st)
	si := jc.interp("step", env)
	sr.Name = jc.interpolate(si, stepName(st))
	defer func() {
		sr.Duration = time.Since(start)
		id := stepID(i, st)
		res := &model.StepResult{Outputs: sr.Outputs}
		_ = res.Outcome.UnmarshalText([]byte(sr.Outcome))
		_ = res.Conclusion.UnmarshalText([]byte(sr.Status))
		jc.steps[id] = res
		if sr.Status == StatusFailure {
			jc.status = StatusFailure
		}
	}()
	ok, err := evalIf(si, st.If.Value)
	if err != nil {
		sr.Status, sr.Outcome, sr.Log = StatusFailure, StatusFailure, fmt.Sprintf("if: %v\n", err)
		return sr
	}
	if !ok || ctx.Err() != nil {
		sr.Status, sr.Outcome = StatusSkipped, StatusSkipped
		return sr
	}
	timeout := minutes(st.TimeoutMinutes, jc.r.o.StepTimeout)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var log bytes.Buffer
	var code int
	switch {
	case st.Uses != "":
		with := map[string]string{}
		for k, v := range st.With {
			with[strings.ToLower(k)] = jc.interpolate(si, v)
		}
		code = jc.action(sctx, actionName(st.Uses), with, env, &log, sr)
	default:
		code = jc.script(sctx, i, st, si, env, &log)
	}
	jc.collectFiles(ctx, i, sr)
	sr.ExitCode = code
	sr.Log, sr.LogTruncated = capLog(log.Bytes(), jc.r.o.MaxStepLog)
	sr.Outcome = StatusSuccess
	if code != 0 {
		sr.Outcome = StatusFailure
	}
	sr.Status = sr.Outcome
	if sr.Outcome == StatusFailure {
		if coe, _ := strconv.ParseBool(jc.interpolate(si, st.RawContinueOnError)); coe {
			sr.Status = StatusSuccess
		}
	}
	return sr
}

func stepName(st *model.Step) string {
	if st.Name != "" {
		return st.Name
	}
	if st.Uses != "" {
		return st.Uses
	}
	first, _, _ := strings.Cut(strings.TrimSpace(st.Run), "\n")
	return "Run " + first
}

func capLog(b []byte, max int) (string, bool) {
	if len(b) <= max {
		return string(b), false
	}
	return string(b[:max]) + "\n… (log truncated)\n", true
}

// launcher prepends GITHUB_PATH entries to PATH, merges stderr into stdout
// and runs the command.
const launcher = `if [ -n "$1" ]; then PATH="$1:$PATH"; export PATH; fi; shift; exec "$@" 2>&1`

func (jc *jobCtx) execStep(ctx context.Context, cmd []string, env map[string]string, workDir string, log *bytes.Buffer) int {
	full := append([]string{"sh", "-c", launcher, "sh", strings.Join(reversed(jc.pathAdd), ":")}, cmd...)
	envList := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		envList = append(envList, k+"="+env[k])
	}
	res, err := jc.r.b.Exec(ctx, jc.sb, full, sandbox.ExecOptions{Env: envList, WorkDir: workDir, Timeout: timeLeft(ctx), MaxOutput: jc.r.o.MaxStepLog + 1})
	if err != nil {
		fmt.Fprintf(log, "opsdojo: could not run the step: %v\n", err)
		return -1
	}
	log.Write(res.Stdout)
	log.Write(res.Stderr)
	if res.TimedOut {
		fmt.Fprintf(log, "opsdojo: the step timed out and was killed\n")
		return -1
	}
	return res.ExitCode
}

func timeLeft(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Second)
	}
	return DefaultStepTimeout
}

// script runs a run: step with its shell.
func (jc *jobCtx) script(ctx context.Context, i int, st *model.Step, si exprparser.Interpreter, env map[string]string, log *bytes.Buffer) int {
	body := jc.interpolate(si, st.Run)
	shell := st.Shell
	if shell == "" {
		shell = jc.job.Defaults.Run.Shell
	}
	if shell == "" {
		shell = jc.w.m.Defaults.Run.Shell
	}
	wd := st.WorkingDirectory
	if wd == "" {
		wd = jc.job.Defaults.Run.WorkingDirectory
	}
	if wd == "" {
		wd = jc.w.m.Defaults.Run.WorkingDirectory
	}
	wd = jc.interpolate(si, wd)
	if !path.IsAbs(wd) {
		wd = path.Join(jc.workspace, wd)
	}
	s := &model.Step{Shell: shell, WorkflowShell: shell}
	tmpl := s.ShellCommand()
	if shell == "" {
		tmpl = "bash -e {0}"
	}
	if !strings.Contains(tmpl, "{0}") {
		tmpl += " {0}"
	}
	ext := ".sh"
	if strings.HasPrefix(tmpl, "python") {
		ext = ".py"
	}
	name := "step_" + strconv.Itoa(i) + ext
	if err := jc.r.b.CopyIn(ctx, jc.sb, tempDir, fileTar(name, []byte(body), 0o755)); err != nil {
		fmt.Fprintf(log, "opsdojo: could not write the step script: %v\n", err)
		return -1
	}
	var cmd []string
	for _, f := range strings.Fields(tmpl) {
		cmd = append(cmd, strings.ReplaceAll(f, "{0}", tempDir+"/"+name))
	}
	// The working directory must exist, as on GitHub.
	return jc.execStep(ctx, append([]string{"sh", "-c", `cd "$0" || { echo "working-directory $0 does not exist"; exit 1; }; exec "$@"`, wd}, cmd...), env, jc.workspace, log)
}

// collectFiles reads the step's GITHUB_OUTPUT, GITHUB_ENV and GITHUB_PATH.
func (jc *jobCtx) collectFiles(ctx context.Context, i int, sr *StepResult) {
	n := strconv.Itoa(i)
	files := []string{tempDir + "/output_" + n, tempDir + "/env_" + n, tempDir + "/path_" + n}
	res, err := jc.r.b.Exec(context.WithoutCancel(ctx), jc.sb, append([]string{"sh", "-c", `for f in "$@"; do cat "$f" 2>/dev/null; printf '\0'; done`, "sh"}, files...), sandbox.ExecOptions{Timeout: 30 * time.Second})
	if err != nil {
		return
	}
	parts := strings.Split(string(res.Stdout), "\x00")
	if len(parts) < 3 {
		return
	}
	maps.Copy(sr.Outputs, parseKV(parts[0]))
	maps.Copy(jc.fileEnv, parseKV(parts[1]))
	for l := range strings.Lines(parts[2]) {
		if l = strings.TrimSpace(l); l != "" {
			jc.pathAdd = append(jc.pathAdd, l)
		}
	}
}

// parseKV parses the GITHUB_OUTPUT/GITHUB_ENV format: name=value lines and
// name<<DELIMITER multi-line values.
func parseKV(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSuffix(lines[i], "\r")
		if name, delim, ok := strings.Cut(l, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for i++; i < len(lines) && strings.TrimSuffix(lines[i], "\r") != delim; i++ {
				val = append(val, lines[i])
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		if name, val, ok := strings.Cut(l, "="); ok && name != "" {
			out[name] = val
		}
	}
	return out
}
