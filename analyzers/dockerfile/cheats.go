package dockerfile

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Helpers for the rules that natural cheats used to pass (issue #15):
// DF001 with a uid-0 alias user, DF003 with a health check that probes
// nothing or needs a tool the image lacks, DF005 with a credential in a
// variable whose name looks harmless.

// shellCommands splits shell text into simple commands (on newlines, ;, &&,
// ||, |) and each into words; quotes are stripped, nothing is expanded.
func shellCommands(text string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	flushWord := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				j = len(text) - i - 1
			}
			cur.WriteString(text[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '\\' && i+1 < len(text) && text[i+1] == '\n':
			i++
		case c == '\n' || c == ';' || c == '|' || c == '&' || c == '(' || c == ')':
			flushCmd()
		case c == ' ' || c == '\t':
			flushWord()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

// ---------------------------------------------------------------- DF001

var passwdLineRe = `(?m)(^|[\s'"])%s:[^:\s]*:0+:`

// uidZeroAlias reports the line of a RUN in the final image's stages that
// gives user name uid 0 (useradd/adduser/usermod -u 0, or a passwd line
// written by hand): such a user is root under another name.
func (df *dockerfile) uidZeroAlias(name string) (int, bool) {
	lineRe := regexp.MustCompile(fmt.Sprintf(passwdLineRe, regexp.QuoteMeta(name)))
	for _, st := range df.chain() {
		for _, in := range st.instrs {
			if in.cmd != "run" {
				continue
			}
			text := strings.Join(in.args, " ") + "\n" + strings.Join(in.heredocs, "\n")
			if lineRe.MatchString(text) {
				return in.line, true
			}
			for _, c := range shellCommands(text) {
				switch path.Base(c[0]) {
				case "useradd", "adduser", "usermod":
				default:
					continue
				}
				uid, login := "", ""
				for i := 1; i < len(c); i++ {
					a := c[i]
					switch {
					case a == "-u" || a == "--uid":
						if i+1 < len(c) {
							uid = c[i+1]
							i++
						}
					case strings.HasPrefix(a, "--uid="):
						uid = strings.TrimPrefix(a, "--uid=")
					case strings.HasPrefix(a, "-u") && len(a) > 2 && !strings.HasPrefix(a, "--"):
						uid = a[2:]
					case strings.HasPrefix(a, "-"):
						// an option; those taking a value are followed by it,
						// but the login is always the last word.
					default:
						login = a
					}
				}
				if login == name && isZero(uid) {
					return in.line, true
				}
			}
		}
	}
	return 0, false
}

func isZero(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n == 0
}

// ---------------------------------------------------------------- DF003

// noopCommands succeed without looking at anything.
var noopCommands = map[string]bool{
	"true": true, ":": true, "exit": true, "echo": true, "printf": true, "sleep": true,
	"ls": true, "cat": true, "pwd": true, "date": true, "hostname": true, "whoami": true,
	"id": true, "env": true, "test": true, "[": true, "uname": true, "stat": true,
}

// probeRe: text that talks to the application (a URL, a local address or
// port) — any health check that reaches the app over the network says one.
var probeRe = regexp.MustCompile(`(?i)(https?://|localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0|:[0-9]{2,5}\b|\bhealth)`)

// alwaysOKRe: an "|| true"-style tail makes any check pass.
var alwaysOKRe = regexp.MustCompile(`\|\|\s*(true|:|exit\s+0|echo\b[^|&;]*)\s*$`)

// interpreters run someone's code: calling one proves nothing about the
// application unless its arguments reach it over the network.
var interpreters = regexp.MustCompile(`^(python[0-9.]*|node|nodejs|java|ruby|perl|php|sh|bash|dash|dotnet|deno|bun)$`)

// baseLacks says which probing tools well-known base images lack; images
// not listed are not judged. scratch and distroless have no shell either.
var baseLacks = []struct {
	pattern string // path.Match on the image name (tag included)
	lacks   []string
}{
	{"scratch", []string{"curl", "wget", "nc", "sh"}},
	{"gcr.io/distroless/*", []string{"curl", "wget", "nc", "sh"}},
	{"debian:*", []string{"curl", "wget", "nc"}},
	{"ubuntu:*", []string{"curl", "wget", "nc"}},
	{"python:*-slim*", []string{"curl", "wget", "nc"}},
	{"node:*-slim*", []string{"curl", "wget", "nc"}},
	{"alpine:*", []string{"curl"}},
	{"python:*-alpine*", []string{"curl"}},
	{"node:*-alpine*", []string{"curl"}},
	{"golang:*-alpine*", []string{"curl"}},
}

// rootBase is the image the final stage's chain starts from (expanded).
func (df *dockerfile) rootBase() string {
	ch := df.chain()
	return df.expand(ch[len(ch)-1].base, df.metaArgs)
}

// lacks reports whether the final image certainly has no tool: its base
// image is known to lack it and no stage of its chain installs or copies it.
func (df *dockerfile) lacks(tool string) bool {
	base := df.rootBase()
	known := false
	for _, b := range baseLacks {
		if ok, _ := path.Match(b.pattern, base); ok || (b.pattern == "scratch" && base == "scratch") {
			for _, l := range b.lacks {
				if l == tool {
					known = true
				}
			}
			break
		}
	}
	if !known {
		return false
	}
	install := regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^;&|]*\b(install|add)\b[^;&|]*\b` + regexp.QuoteMeta(tool) + `\b`)
	if tool == "nc" {
		install = regexp.MustCompile(`\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^;&|]*\b(install|add)\b[^;&|]*\b(netcat|nc|ncat)`)
	}
	for _, st := range df.chain() {
		for _, in := range st.instrs {
			text := strings.Join(in.args, " ")
			switch in.cmd {
			case "run":
				if install.MatchString(text + "\n" + strings.Join(in.heredocs, "\n")) {
					return false
				}
			case "copy", "add":
				for _, a := range in.args {
					if path.Base(a) == tool || strings.HasSuffix(a, "/bin/") || strings.HasSuffix(a, "/bin") {
						return false
					}
				}
			}
		}
	}
	return true
}

// entrypointExe is the basename of the final image's program (ENTRYPOINT,
// else CMD, exec form's first word or shell form's first word).
func (df *dockerfile) entrypointExe() string {
	for _, cmd := range []string{"entrypoint", "cmd"} {
		if in, _, ok := df.last(cmd); ok && len(in.args) > 0 {
			if in.json {
				return path.Base(in.args[0])
			}
			if cs := shellCommands(strings.Join(in.args, " ")); len(cs) > 0 {
				return path.Base(cs[0][0])
			}
		}
	}
	return ""
}

// judgeHealthcheck explains why a HEALTHCHECK CMD cannot tell a healthy
// application from a broken one, or returns "".
func (df *dockerfile) judgeHealthcheck(in instr) string {
	args := in.args[1:]
	if len(args) == 0 {
		return "HEALTHCHECK CMD has no command"
	}
	var text string
	shellForm := !in.json
	if in.json {
		if len(args) >= 3 && (path.Base(args[0]) == "sh" || path.Base(args[0]) == "bash") && args[1] == "-c" {
			text = strings.Join(args[2:], " ")
		} else {
			text = ""
		}
	} else {
		text = strings.Join(args, " ")
	}
	var cmds [][]string
	if text != "" {
		cmds = shellCommands(text)
		if alwaysOKRe.MatchString(strings.TrimSpace(text)) {
			return fmt.Sprintf("HEALTHCHECK %q always succeeds (its last alternative cannot fail): let the probe's failure fail the check", strings.TrimSpace(text))
		}
	} else {
		cmds = [][]string{args}
	}
	if shellForm && df.lacks("sh") {
		return fmt.Sprintf("HEALTHCHECK uses the shell form, but %s has no /bin/sh: use the exec form [\"/app\", \"healthcheck\"]", df.rootBase())
	}
	allNoop := true
	for _, c := range cmds {
		if !noopCommands[path.Base(c[0])] {
			allNoop = false
		}
	}
	if allNoop {
		return fmt.Sprintf("HEALTHCHECK %s does not check anything (it succeeds whatever the application does): probe the application, e.g. CMD [\"curl\", \"-f\", \"http://localhost:PORT/health\"] or the program's own health command", strings.Join(args, " "))
	}
	for _, c := range cmds {
		tool := path.Base(c[0])
		if (tool == "curl" || tool == "wget" || tool == "nc") && df.lacks(tool) {
			return fmt.Sprintf("HEALTHCHECK runs %s, which %s does not have (and no stage installs it), so the check can never pass: install it, or use the program's own health command", tool, df.rootBase())
		}
	}
	all := strings.Join(args, " ")
	if probeRe.MatchString(all) {
		return ""
	}
	if exe := df.entrypointExe(); exe != "" && !interpreters.MatchString(exe) {
		for _, c := range cmds {
			if path.Base(c[0]) == exe {
				return ""
			}
		}
	}
	return fmt.Sprintf("HEALTHCHECK %s does not probe the application (no URL, port or the program's own health command)", strings.Join(args, " "))
}

// ---------------------------------------------------------------- DF005

// credentialRes recognise credentials by their shape, whatever the
// variable is called.
var credentialRes = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a URL with a password", regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@$]+:[^/\s@$]+@`)},
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b`)},
	{"an AWS secret access key", regexp.MustCompile(`(^|[^A-Za-z0-9/+])[A-Za-z0-9/+]{40}([^A-Za-z0-9/+=]|$)`)},
	{"a GitHub token", regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`)},
	{"a Stripe key", regexp.MustCompile(`\b[sr]k_(live|test)_[A-Za-z0-9]{16,}`)},
	{"a Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)},
	{"a bearer token", regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}`)},
}

// credentialShape names the kind of credential v looks like, or "".
func credentialShape(v string) string {
	for _, c := range credentialRes {
		if c.re.MatchString(v) {
			if c.what == "an AWS secret access key" && !hasMixedClasses(c.re.FindString(v)) {
				continue
			}
			return c.what
		}
	}
	return ""
}

// hasMixedClasses: a 40-character run that is a secret key mixes lower,
// upper case and digits (a path or a word does not).
func hasMixedClasses(s string) bool {
	var lo, up, dig bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lo = true
		case r >= 'A' && r <= 'Z':
			up = true
		case r >= '0' && r <= '9':
			dig = true
		}
	}
	return lo && up && dig
}
