package challenges

import (
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Validation of the probe-side check types (tcp, port_owner) and of the
// http check's expect_json and served_by.

// definesVar reports whether a ${VAR} used by a check is given per attempt
// (a seed variable or sandbox.env).
func definesVar(s *Spec, name string) bool {
	if _, ok := s.Sandbox.Env[name]; ok {
		return true
	}
	if s.Seed != nil {
		for _, v := range s.Seed.Vars {
			if v.Name == name {
				return true
			}
		}
	}
	return false
}

func (l *loader) validatePort(s *Spec, p string, port Port) {
	if !l.required(p, "a port number or ${VAR} is required") {
		return
	}
	if v := port.Var(); v != "" && !definesVar(s, v) {
		l.errf(p, "${%s} is neither a seed variable nor in sandbox.env", v)
	}
}

func (l *loader) validateTCPCheck(s *Spec, p string, t *TCPCheck) {
	l.validatePort(s, join(p, "port"), t.Port)
	if t.Expect != "" {
		if _, err := regexp.Compile(t.Expect); err != nil {
			l.errf(join(p, "expect"), "invalid regexp: %v", err)
		}
	}
	if strings.ContainsAny(t.Host, " /\t") {
		l.errf(join(p, "host"), "must be a host name or address, got %q", t.Host)
	}
}

func (l *loader) validatePortOwnerCheck(s *Spec, p string, o *PortOwnerCheck) {
	l.validatePort(s, join(p, "port"), o.Port)
	if o.Protocol != "" && o.Protocol != "tcp" && o.Protocol != "udp" {
		l.errf(join(p, "protocol"), "must be tcp or udp, got %q", o.Protocol)
	}
	l.validateProgram(p, &o.Program)
}

func (l *loader) validateProgram(p string, g *Program) {
	if l.required(join(p, "exe"), "the absolute path of the packaged executable is required, e.g. /usr/sbin/nginx") &&
		(!strings.HasPrefix(g.Exe, "/") || path.Clean(g.Exe) != g.Exe) {
		l.errf(join(p, "exe"), "must be a clean absolute path such as /usr/sbin/nginx, got %q", g.Exe)
	}
	if g.Package != "" {
		if _, err := path.Match(g.Package, ""); err != nil {
			l.errf(join(p, "package"), "invalid glob %q: %v", g.Package, err)
		}
	}
	if g.User != "" && !userRe.MatchString(g.User) {
		if _, err := strconv.Atoi(g.User); err != nil {
			l.errf(join(p, "user"), "must be a user name or uid, got %q", g.User)
		}
	}
}

func (l *loader) validateHTTPExtras(s *Spec, p string, h *HTTPCheck) {
	for k := range h.ExpectJSON {
		if strings.TrimSpace(k) == "" {
			l.errf(join(join(p, "expect_json"), k), "must be a gjson path such as status or items.0.name")
		}
	}
	if h.ServedBy != nil {
		sp := join(p, "served_by")
		l.validateProgram(sp, h.ServedBy)
		if u, err := url.Parse(os.Expand(h.URL, func(string) string { return "1" })); err == nil && u.Host != "" {
			switch u.Hostname() {
			case "localhost", "127.0.0.1", "::1":
			default:
				l.errf(sp, "needs a URL on localhost (the sandbox's own listening port), got host %q", u.Hostname())
			}
		}
	}
}

func (l *loader) validateBuildRunExtras(rp string, r *BuildRun) {
	if r.ExpectBody != "" {
		if _, err := regexp.Compile(r.ExpectBody); err != nil {
			l.errf(join(rp, "expect_body"), "invalid regexp: %v", err)
		}
	}
	if (r.ExpectBody != "" || len(r.ExpectJSON) > 0) && r.Port == 0 {
		l.errf(rp, "expect_body and expect_json judge the port probe's answer: set port")
	}
	for k := range r.ExpectJSON {
		if strings.TrimSpace(k) == "" {
			l.errf(join(join(rp, "expect_json"), k), "must be a gjson path such as status or items.0.name")
		}
	}
	for k := range r.Env {
		if !envNameRe.MatchString(k) {
			l.errf(join(join(rp, "env"), k), "must be an environment variable name, got %q", k)
		}
	}
	for p := range r.SecretFiles {
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
			l.errf(join(join(rp, "secret_files"), p), "must be a clean absolute path such as /run/secrets/db_password, got %q", p)
		}
	}
	if r.ExpectExe != "" && (!strings.HasPrefix(r.ExpectExe, "/") || path.Clean(r.ExpectExe) != r.ExpectExe) {
		l.errf(join(rp, "expect_exe"), "must be a clean absolute path such as /app/server, got %q", r.ExpectExe)
	}
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
