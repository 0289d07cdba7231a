package grader

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
)

// tcpScript connects to host:port from the sandbox's network namespace with
// the probe's own python3, sends t.Send and, when t.Expect is set, reads
// until Python's re finds it, the peer closes, 8 KiB arrived or the
// deadline passed. It prints "connected=yes" or "connected=no" and
// "error=…", then "--" and the bytes read; the verdict is evalTCP's (RE2).
func tcpScript(t *challenges.TCPCheck, timeout time.Duration, env map[string]string) string {
	host := expand(t.Host, env)
	if host == "" {
		host = "localhost"
	}
	port, err := t.Port.Resolve(env)
	if err != nil {
		return fmt.Sprintf("echo connected=no; echo %s\n", shellQuote("error="+err.Error()))
	}
	secs := timeout.Seconds() - 1
	if secs < 1 {
		secs = 1
	}
	send := base64.StdEncoding.EncodeToString([]byte(expand(t.Send, env)))
	expect := base64.StdEncoding.EncodeToString([]byte(t.Expect))
	return fmt.Sprintf("exec python3 -IS - %s %d %.1f %s %s <<'PY'\n%sPY\n", shellQuote(host), port, secs, shellQuote(send), shellQuote(expect), tcpPy)
}

const tcpPy = `import base64, re, socket, sys, time
host, port, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
send = base64.b64decode(sys.argv[4]) if len(sys.argv) > 4 else b""
pat = base64.b64decode(sys.argv[5]).decode("utf-8", "replace") if len(sys.argv) > 5 else ""
end = time.monotonic() + budget
try:
    s = socket.create_connection((host, port), timeout=max(0.2, end - time.monotonic()))
except OSError as e:
    print("connected=no")
    print("error=%s" % (e.strerror or e))
    sys.exit(0)
print("connected=yes")
got, err = b"", ""
try:
    if send:
        s.sendall(send)
    if pat:
        try:
            rx = re.compile(pat.encode(), re.M)
        except re.error:
            rx = None
        while len(got) < 8000:
            left = end - time.monotonic()
            if left <= 0:
                err = "timeout"
                break
            s.settimeout(left)
            b = s.recv(8000 - len(got))
            if not b:
                break
            got += b
            if rx is not None and rx.search(got):
                break
except socket.timeout:
    err = "timeout"
except OSError as e:
    err = str(e.strerror or e)
finally:
    s.close()
if err:
    print("error=" + err)
print("--")
sys.stdout.flush()
sys.stdout.buffer.write(got)
`

func evalTCP(t *challenges.TCPCheck, pr probeResult, env map[string]string, r *CheckResult) {
	head, got, _ := strings.Cut(pr.output, "\n--\n")
	connected, errText := false, ""
	for _, line := range strings.Split(head, "\n") {
		if v, ok := strings.CutPrefix(line, "connected="); ok {
			connected = v == "yes"
		}
		if v, ok := strings.CutPrefix(line, "error="); ok {
			errText = v
		}
	}
	host := expand(t.Host, env)
	if host == "" {
		host = "localhost"
	}
	port, _ := t.Port.Resolve(env)
	addr := fmt.Sprintf("%s:%d", host, port)
	r.Output = got
	switch {
	case !connected && errText == "":
		r.Message = fmt.Sprintf("%s: the probe gave no answer (exit %d)", addr, pr.exit)
	case !connected:
		r.Message = fmt.Sprintf("%s: cannot connect (%s)", addr, errText)
	case t.Expect == "":
		r.Passed, r.Message = true, fmt.Sprintf("%s accepts connections", addr)
	default:
		re, err := regexp.Compile("(?m)" + t.Expect)
		switch {
		case err != nil:
			r.Message = "invalid expect regexp: " + err.Error()
		case re.MatchString(got):
			r.Passed, r.Message = true, fmt.Sprintf("%s answered as expected", addr)
		case got == "" && errText != "":
			r.Message = fmt.Sprintf("%s accepted the connection but sent nothing matching /%s/ (%s)", addr, t.Expect, errText)
		default:
			r.Message = fmt.Sprintf("%s answered %q, which does not match /%s/", addr, firstLine(got, 120), t.Expect)
		}
	}
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimRight(s, "\r")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// runsInProbe reports whether a check type runs in the grading run's probe
// container (script, http, tcp, port_owner).
func runsInProbe(typ string) bool {
	switch typ {
	case challenges.CheckScript, challenges.CheckHTTP, challenges.CheckTCP, challenges.CheckPortOwner:
		return true
	}
	return false
}
