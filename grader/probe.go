package grader

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

const (
	probeDir        = "/opsdojo"
	resultMarker    = "@@opsdojo-result"
	maxProbeOutput  = 8 << 10  // per check, before base64
	maxHTTPBody     = 64 << 10 // kept for body assertions
	timedOutExit    = 124      // coreutils timeout
	timedOutKillExt = 137
)

// runProbed runs the script and http checks at idx in one probe container.
func (g *Grader) runProbed(ctx context.Context, ch *challenges.Challenge, t Target, idx []int, out []CheckResult) {
	if t.SandboxID == "" {
		for _, i := range idx {
			out[i].Message, out[i].NotRun = "this check needs a live sandbox; the attempt has none (it was submitted or expired)", true
		}
		return
	}
	var files []sandbox.File
	var runner strings.Builder
	runner.WriteString(runnerPrelude)
	total := probeOverhead
	for _, i := range idx {
		c := ch.Checks[i]
		name := fmt.Sprintf("c%02d.sh", i)
		var body []byte
		switch c.Type {
		case challenges.CheckScript:
			body = ch.File(c.Script.Run)
		case challenges.CheckHTTP:
			body = []byte(httpScript(c.HTTP, c.Timeout.D(), t.Env))
		case challenges.CheckTCP:
			body = []byte(tcpScript(c.TCP, c.Timeout.D(), t.Env))
		case challenges.CheckPortOwner:
			body = []byte(portOwnerScript(c.PortOwner, t.Env))
		}
		files = append(files, sandbox.File{Path: probeDir + "/checks/" + name, Mode: 0o700, Content: body})
		secs := int(c.Timeout.D().Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		fmt.Fprintf(&runner, "run %s %d\n", name, secs)
		total += c.Timeout.D() + 2*time.Second
	}
	files = append(files, sandbox.File{Path: probeDir + "/run.sh", Mode: 0o700, Content: []byte(runner.String())})
	// The challenge's lib/ goes next to checks/: a script sources
	// "$(dirname "$0")/../lib/x.sh".
	for _, f := range ch.LibFiles() {
		files = append(files, sandbox.File{Path: probeDir + "/" + f.Path, Mode: 0o700, Content: f.Content})
	}
	env := []string{"SANDBOX_ROOT=" + sandbox.ProbeSandboxRoot}
	keys := make([]string, 0, len(t.Env))
	for k := range t.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+t.Env[k])
	}
	er, err := g.sb.Probe(ctx, t.SandboxID, sandbox.ProbeSpec{
		Cmd: []string{"/bin/bash", probeDir + "/run.sh"}, Files: files, Env: env,
		Timeout: total, MaxOutput: len(idx)*(maxProbeOutput*4/3+256) + 4096,
	})
	got := parseProbeOutput(er.Stdout)
	for n, i := range idx {
		c := ch.Checks[i]
		r := &out[i]
		pr, ok := got[fmt.Sprintf("c%02d.sh", i)]
		if !ok {
			switch {
			case err != nil:
				r.Message, r.NotRun = "the grader could not run this check: "+err.Error(), true
			case er.TimedOut:
				r.TimedOut = true
				r.Message = "the grading run timed out before this check"
			default:
				r.Message, r.NotRun = "the grader could not run this check (no result)", true
			}
			if n == 0 && len(er.Stderr) > 0 {
				g.log.Warn("probe produced no result", "challenge", ch.ID, "stderr", string(er.Stderr))
			}
			continue
		}
		r.Duration = pr.duration
		if pr.notrun != "" {
			r.Message, r.NotRun, r.Output = "the grader could not run this check: "+pr.notrun, true, pr.output
			continue
		}
		if pr.exit == timedOutExit || pr.exit == timedOutKillExt {
			if pr.duration >= c.Timeout.D()-50*time.Millisecond {
				r.TimedOut = true
				r.Message = fmt.Sprintf("timed out after %s", c.Timeout.D())
				r.Output = pr.output
				continue
			}
		}
		switch c.Type {
		case challenges.CheckScript:
			// bash names the script in its errors: say the author's path,
			// not the probe's copy.
			pr.output = strings.ReplaceAll(pr.output, fmt.Sprintf("%s/checks/c%02d.sh", probeDir, i), c.Script.Run)
			r.Passed = pr.exit == 0
			r.Output = pr.output
			r.Message = feedback(pr.output)
			if r.Message == "" {
				if r.Passed {
					r.Message = "passed"
				} else {
					r.Message = fmt.Sprintf("failed (exit status %d)", pr.exit)
				}
			}
		case challenges.CheckHTTP:
			evalHTTP(c.HTTP, pr, t.Env, r)
		case challenges.CheckTCP:
			evalTCP(c.TCP, pr, t.Env, r)
		case challenges.CheckPortOwner:
			evalPortOwner(c.PortOwner, pr, t.Env, r)
		}
	}
}

// runnerPrelude runs each check with its own deadline (coreutils timeout,
// SIGKILL 2 s later) and prints one framed, base64 line per check. The
// candidate cannot write to the probe's stdout.
const runnerPrelude = `#!/bin/bash
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
cd /tmp
run() {
	local id=$1 t=$2 s e rc
	s=$(date +%s%N)
	SBX_NOTRUN="/tmp/$id.notrun" timeout -k 2 "$t" /bin/bash "/opsdojo/checks/$id" >"/tmp/$id.out" 2>&1 </dev/null
	rc=$?
	e=$(date +%s%N)
	printf '` + resultMarker + ` %s %d %d %s notrun=%s\n' "$id" "$rc" $(( (e - s) / 1000000 )) "$(head -c ` + "8192" + ` "/tmp/$id.out" | base64 -w0)" "$(head -c 1024 "/tmp/$id.notrun" 2>/dev/null | base64 -w0)"
}
`

type probeResult struct {
	exit     int
	duration time.Duration
	output   string
	// notrun is why a probe helper could not establish a fact (sbx-*
	// write it to $SBX_NOTRUN, e.g. a path inside a gVisor sandbox's
	// tmpfs): the check is "not run", whatever the script made of it.
	notrun string
}

func parseProbeOutput(stdout []byte) map[string]probeResult {
	out := map[string]probeResult{}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[0] != resultMarker {
			continue
		}
		exit, err1 := strconv.Atoi(f[2])
		ms, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		var data, notrun []byte
		for _, x := range f[4:] { // the output is empty (absent) or comes first
			if v, ok := strings.CutPrefix(x, "notrun="); ok {
				notrun, _ = base64.StdEncoding.DecodeString(v)
			} else if data == nil {
				data, _ = base64.StdEncoding.DecodeString(x)
			}
		}
		out[f[1]] = probeResult{exit: exit, duration: time.Duration(ms) * time.Millisecond, output: string(data),
			notrun: strings.TrimSpace(strings.SplitN(string(notrun), "\n", 2)[0])}
	}
	return out
}

func expand(s string, env map[string]string) string {
	return os.Expand(s, func(k string) string { return env[k] })
}

// httpScript fetches the URL with the probe's own curl from inside the
// sandbox's network namespace: first line "status=NNN", then the body.
func httpScript(h *challenges.HTTPCheck, timeout time.Duration, env map[string]string) string {
	method := h.Method
	if method == "" {
		method = "GET"
	}
	secs := timeout.Seconds() - 1
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf(`code=$(curl -sS -o /tmp/body -w '%%{http_code}' -X %s --max-time %.0f -- %s 2>/tmp/err)
echo "status=${code:-000}"
if [ -s /tmp/err ]; then echo "curl: $(head -c 300 /tmp/err)"; fi
%secho "--"
head -c %d /tmp/body 2>/dev/null
`, method, secs, shellQuote(expand(h.URL, env)), httpOwnerScript(h, env), maxHTTPBody)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func evalHTTP(h *challenges.HTTPCheck, pr probeResult, env map[string]string, r *CheckResult) {
	head, body, _ := strings.Cut(pr.output, "\n--\n")
	status := 0
	var curlErr string
	for _, line := range strings.Split(head, "\n") {
		if v, ok := strings.CutPrefix(line, "status="); ok {
			status, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "curl: "); ok {
			// "… after 3 ms: …": the same state must give the same
			// message (determinism, flaky-check detection).
			curlErr = curlElapsed.ReplaceAllString(v, "")
		}
	}
	want := h.Status
	if want == 0 {
		want = 200
	}
	url := expand(h.URL, env)
	r.Output = body
	switch {
	case status == 0:
		r.Message = fmt.Sprintf("%s: no HTTP answer (%s)", url, strings.TrimSpace(curlErr))
	case status != want:
		r.Message = fmt.Sprintf("%s answered %d, expected %d", url, status, want)
	case h.BodyContains != "" && !strings.Contains(body, expand(h.BodyContains, env)):
		r.Message = fmt.Sprintf("%s answered %d but the body does not contain %q", url, status, expand(h.BodyContains, env))
	case h.BodyRegex != "":
		re, err := regexp.Compile("(?m)" + h.BodyRegex)
		if err != nil {
			r.Message = "invalid body_regex: " + err.Error()
		} else if !re.MatchString(body) {
			r.Message = fmt.Sprintf("%s answered %d but the body does not match /%s/", url, status, h.BodyRegex)
		} else {
			r.Passed, r.Message = true, fmt.Sprintf("%s answered %d as expected", url, status)
		}
	default:
		r.Passed, r.Message = true, fmt.Sprintf("%s answered %d as expected", url, status)
	}
	if r.Passed {
		evalHTTPExtras(h, head, body, url, env, r)
	}
}

// curlElapsed is the timing curl puts in its error messages.
var curlElapsed = regexp.MustCompile(` after [0-9]+ ms`)
