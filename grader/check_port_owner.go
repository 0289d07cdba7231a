package grader

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/opsdojo/opsdojo/challenges"
)

// The port_owner check and the http check's served_by ask the probe's
// sbx-port which processes hold a listening socket and judge them here, by
// content: every holder must run the packaged executable the check names
// (sbx-port's verified=yes: the running file's hash equals the dpkg md5sum
// of that path in the sandbox's pristine image), from the named package,
// as the named user compared by uid. A copied or renamed binary, python3
// -m http.server standing in for nginx, or a process of another user fails.

const (
	ownerPrefix     = "owner: "
	ownerUserPrefix = "owner-user: "
	ownerErrPrefix  = "owner-error: "
)

// ownerScript prints one "owner: pid=… uid=… verified=… pkg=… path=…" line
// per process listening on port (nothing when none does) and, when user is
// a name, "owner-user: UID" from the sandbox's /etc/passwd ("-" when the
// user does not exist).
func ownerScript(port int, udp bool, user string) string {
	var b strings.Builder
	flag := ""
	if udp {
		flag = "--udp "
	}
	fmt.Fprintf(&b, "sbx-port %s%d 2>/dev/null | sed 's/^/%s/'\n", flag, port, ownerPrefix)
	if user != "" {
		if _, err := strconv.Atoi(user); err != nil {
			fmt.Fprintf(&b, "sbx-cat /etc/passwd 2>/dev/null | awk -F: -v u=%s '$1==u{print \"%s\" $3; f=1; exit} END{if(!f) print \"%s-\"}'\n",
				shellQuote(user), ownerUserPrefix, ownerUserPrefix)
		}
	}
	return b.String()
}

// portOwnerScript is the probe script of a port_owner check.
func portOwnerScript(o *challenges.PortOwnerCheck, env map[string]string) string {
	port, err := o.Port.Resolve(env)
	if err != nil {
		return fmt.Sprintf("echo %s\n", shellQuote(ownerErrPrefix+err.Error()))
	}
	return ownerScript(port, o.Protocol == "udp", o.User)
}

// listener is one sbx-port line.
type listener struct {
	pid, uid string
	verified bool
	pkg      string
	exe      string
}

// parseOwners reads the owner lines of a probe output.
func parseOwners(out string) (ls []listener, userUID string, errMsg string) {
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, ownerErrPrefix):
			errMsg = strings.TrimPrefix(line, ownerErrPrefix)
		case strings.HasPrefix(line, ownerUserPrefix):
			userUID = strings.TrimSpace(strings.TrimPrefix(line, ownerUserPrefix))
		case strings.HasPrefix(line, ownerPrefix):
			rest := strings.TrimPrefix(line, ownerPrefix)
			var l listener
			// path= is last and may hold spaces.
			if i := strings.Index(rest, " path="); i >= 0 {
				l.exe = rest[i+len(" path="):]
				rest = rest[:i]
			}
			for _, f := range strings.Fields(rest) {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "pid":
					l.pid = v
				case "uid":
					l.uid = v
				case "verified":
					l.verified = v == "yes"
				case "pkg":
					l.pkg = v
				}
			}
			ls = append(ls, l)
		}
	}
	return ls, userUID, errMsg
}

// sameExe compares executable paths the way usrmerge makes them equal:
// /bin/x and /usr/bin/x, /sbin/x and /usr/sbin/x are one file.
func sameExe(a, b string) bool {
	norm := func(p string) string { return strings.TrimPrefix(path.Clean(p), "/usr") }
	return norm(a) == norm(b)
}

// judgeOwners says whether every listener is prog; what names the socket
// ("port 8080"). The message names the first offender.
func judgeOwners(prog *challenges.Program, what string, ls []listener, userUID string) (bool, string) {
	if len(ls) == 0 {
		return false, fmt.Sprintf("nothing listens on %s", what)
	}
	wantUID := ""
	if prog.User != "" {
		if _, err := strconv.Atoi(prog.User); err == nil {
			wantUID = prog.User
		} else {
			switch {
			case userUID == "" || userUID == "-":
				return false, fmt.Sprintf("user %s does not exist in the sandbox's /etc/passwd", prog.User)
			case userUID == "0" && prog.User != "root":
				// useradd --non-unique --uid 0: a second name for root.
				return false, fmt.Sprintf("user %s has uid 0 in /etc/passwd: it is root under another name", prog.User)
			}
			wantUID = userUID
		}
	}
	for _, l := range ls {
		who := fmt.Sprintf("%s (pid %s, uid %s, package %s)", orDash(l.exe), l.pid, l.uid, orDash(l.pkg))
		switch {
		case !sameExe(l.exe, prog.Exe):
			return false, fmt.Sprintf("%s is held by %s, not %s", what, who, prog.Exe)
		case !l.verified:
			return false, fmt.Sprintf("%s is held by %s whose content is not what its package installed (a copy, a rename or an edited binary), not the packaged %s", what, who, prog.Exe)
		case prog.Package != "" && !globMatch(prog.Package, l.pkg):
			return false, fmt.Sprintf("%s is held by %s, not from package %s", what, who, prog.Package)
		case wantUID != "" && l.uid != wantUID:
			return false, fmt.Sprintf("%s is held by %s running as uid %s, not as %s (uid %s)", what, who, l.uid, prog.User, wantUID)
		}
	}
	msg := fmt.Sprintf("%s is held by the packaged %s", what, prog.Exe)
	if prog.User != "" {
		msg += " running as " + prog.User
	}
	return true, msg
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func evalPortOwner(o *challenges.PortOwnerCheck, pr probeResult, env map[string]string, r *CheckResult) {
	ls, userUID, errMsg := parseOwners(pr.output)
	if errMsg != "" {
		r.Message = errMsg
		return
	}
	port, _ := o.Port.Resolve(env)
	proto := "tcp"
	if o.Protocol == "udp" {
		proto = "udp"
	}
	r.Passed, r.Message = judgeOwners(&o.Program, fmt.Sprintf("%s port %d", proto, port), ls, userUID)
	r.Output = pr.output
}

// urlPort is the port an http(s) URL connects to.
func urlPort(raw string) (int, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, fmt.Errorf("bad URL %q: %w", raw, err)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("bad port in %q", raw)
		}
		return n, nil
	}
	if u.Scheme == "https" {
		return 443, nil
	}
	return 80, nil
}
