package grader

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// What docker_build's run adds beyond "something answers" (issue #15): the
// answer's body and JSON, the run's environment and secret files, and the
// identity of the program that answers.

// runEnv is run.env as KEY=VALUE, ${VAR} expanded with the attempt's env.
func runEnv(run *challenges.BuildRun, env map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(run.Env) {
		out = append(out, k+"="+expand(run.Env[k], env))
	}
	return out
}

// runFiles are run.secret_files, root-owned and world-readable (as Docker
// secrets are: the app may run as any user).
func runFiles(run *challenges.BuildRun, env map[string]string) []sandbox.File {
	var out []sandbox.File
	for _, p := range sortedKeys(run.SecretFiles) {
		out = append(out, sandbox.File{Path: p, Mode: 0o444, Content: []byte(expand(run.SecretFiles[p], env))})
	}
	return out
}

// secretValues are the expanded secret contents, never shown in feedback.
func secretValues(run *challenges.BuildRun, env map[string]string) []string {
	var out []string
	if run == nil {
		return nil
	}
	for _, v := range run.SecretFiles {
		if v = strings.TrimSpace(expand(v, env)); len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}

// redact replaces every secret value in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "[secret]")
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// judgeProbeBody applies expect_body and expect_json to the port probe's
// output ("HTTP 200 after N tries" then the body).
func judgeProbeBody(run *challenges.BuildRun, probeOut string, env map[string]string) string {
	body := probeOut
	if first, rest, ok := strings.Cut(probeOut, "\n"); ok && strings.HasPrefix(first, "HTTP ") {
		body = rest
	} else if !ok && strings.HasPrefix(first, "HTTP ") {
		body = ""
	}
	if run.ExpectBody != "" {
		re, err := regexp.Compile("(?m)" + run.ExpectBody)
		if err != nil {
			return "invalid expect_body: " + err.Error()
		}
		if !re.MatchString(body) {
			return fmt.Sprintf("port %d answered, but the body does not match /%s/", run.Port, run.ExpectBody)
		}
	}
	if msg := jsonMismatch(run.ExpectJSON, body, env); msg != "" {
		return fmt.Sprintf("port %d answered, but %s", run.Port, msg)
	}
	return ""
}

// exeScript runs in a probe helper that shares the run container's PID
// namespace: it finds the main process (the oldest child of the
// container's init, or the init itself when it runs the program), prints
// its executable's path and md5, and whether that content is a file some
// Debian package installed — by the run image's dpkg md5sums and by the
// probe's own (pristine Debian bookworm: the offline base images are made
// of the same packages), so deleting the image's dpkg database hides
// nothing that Debian ships.
const exeScript = `import hashlib, os
best = None
for p in os.listdir("/proc"):
    if not p.isdigit() or p == "1" or int(p) == os.getpid():
        continue
    try:
        st = open("/proc/%s/stat" % p).read()
        rest = st[st.rindex(")") + 2:].split()
        ppid, start = int(rest[1]), int(rest[19])
    except (OSError, ValueError, IndexError):
        continue
    if ppid == 1 and (best is None or start < best[1]):
        best = (p, start)
pid = best[0] if best else "1"
try:
    exe = os.readlink("/proc/%s/exe" % pid)
    md5 = hashlib.md5(open("/proc/%s/exe" % pid, "rb").read()).hexdigest()
except OSError as e:
    print("error=cannot read the main process's executable: %s" % e.strerror)
    raise SystemExit(0)
print("exe=" + exe)
print("md5=" + md5)
for info in ("/proc/%s/root/var/lib/dpkg/info" % pid, "/var/lib/dpkg/info"):
    try:
        names = sorted(os.listdir(info))
    except OSError:
        continue
    for n in names:
        if not n.endswith(".md5sums"):
            continue
        try:
            for line in open(os.path.join(info, n), errors="replace"):
                if line.startswith(md5 + " "):
                    print("packaged=%s /%s" % (n[:-8].split(":")[0], line.split(None, 1)[1].strip()))
                    raise SystemExit(0)
        except OSError:
            pass
`

// checkExe says whether the run's main process executes want, built from
// the context (not a packaged program copied or renamed there).
func (d *DockerBuilder) checkExe(ctx context.Context, id, want string) string {
	out := &tailBuffer{max: 4 << 10}
	code, err := d.eng.RunHelper(ctx, sandbox.HelperSpec{Image: d.probeImage, Cmd: []string{"python3", "-IS", "-c", exeScript},
		NetworkOf: id, PIDOf: true, Name: "opsdojo-grade-exe-" + randomSuffix(), Labels: map[string]string{LabelGraderBuild: d.id}}, out)
	switch {
	case errors.Is(err, sandbox.ErrNotRunning):
		return "the container stopped before its program could be checked"
	case err != nil:
		return "cannot check the container's program: " + err.Error()
	case code != 0:
		return fmt.Sprintf("cannot check the container's program (helper exit %d)", code)
	}
	facts := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
			facts[k] = v
		}
	}
	if e := facts["error"]; e != "" {
		return e
	}
	exe := facts["exe"]
	if exe != want {
		return fmt.Sprintf("the container's main process runs %s, not %s", orDash(exe), want)
	}
	if p := facts["packaged"]; p != "" {
		pkg, file, _ := strings.Cut(p, " ")
		return fmt.Sprintf("the container's main process runs %s, but that file is %s from the Debian package %s: a stand-in, not the application built from the context", want, file, pkg)
	}
	return ""
}

// uidZeroAliasProblem: a user name other than root that resolves to uid 0
// is root under another name (useradd --non-unique --uid 0).
func uidZeroAliasProblem(name string, uid int) string {
	if uid == 0 && name != "root" && name != "0" {
		return fmt.Sprintf("user %q has uid 0 in the image: it is root under another name", name)
	}
	return ""
}
