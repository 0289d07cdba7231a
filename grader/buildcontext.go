package grader

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of what a docker_build check shows the candidate.
const (
	maxOutputLine  = 400     // bytes of one line of build or program output
	maxOutputBytes = 8 << 10 // bytes of a check's whole output excerpt (its end is kept)
)

// tailBuffer is an io.Writer that keeps the last max bytes written.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.b = append(t.b[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.b) + len(p) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	t.b = append(t.b, p...)
	return n, nil
}

func (t *tailBuffer) String() string {
	i := 0
	for i < len(t.b) && i < utf8.UTFMax && !utf8.RuneStart(t.b[i]) {
		i++ // a rune cut at the start
	}
	return string(t.b[i:])
}

// checkedContext reads the build context, checks its Dockerfile with the
// policy and returns the context to send the daemon: the candidate's files
// with the Dockerfile replaced by the checked rendering (a regular file,
// whatever the candidate's was: a symlink, a directory, duplicate tar
// entries), its name, and the checked Dockerfile. A Dockerfile the policy
// refuses gives the message for the candidate instead; err is the
// grader's problem.
func (d *DockerBuilder) checkedContext(ctx context.Context, req BuildRequest) (io.Reader, string, CheckedDockerfile, string, error) {
	raw, err := io.ReadAll(io.LimitReader(req.Context, maxBuildContext+1))
	if err != nil {
		return nil, "", CheckedDockerfile{}, "", fmt.Errorf("read build context: %w", err)
	}
	if len(raw) > maxBuildContext {
		return nil, "", CheckedDockerfile{}, fmt.Sprintf("the build context is over the limit of %s", humanBytes(maxBuildContext)), nil
	}
	name := cleanTarName(req.Dockerfile)
	src, found, msg := findDockerfile(raw, name)
	if !found && msg == "" && name == "Dockerfile" {
		// the daemon falls back to a lower-case dockerfile; so do we (and
		// then name it explicitly)
		if s, ok, m := findDockerfile(raw, "dockerfile"); ok || m != "" {
			src, found, msg, name = s, ok, m, "dockerfile"
		}
	}
	switch {
	case msg != "":
		return nil, "", CheckedDockerfile{}, msg, nil
	case !found:
		return nil, "", CheckedDockerfile{}, fmt.Sprintf("there is no %s in the build context", req.Dockerfile), nil
	}
	checked, err := d.policy.Check(ctx, src, d.lookupImage)
	var refusal *BuildRefusal
	if errors.As(err, &refusal) {
		return nil, "", CheckedDockerfile{}, "the grader does not build this Dockerfile: " + refusal.Error(), nil
	}
	if err != nil {
		return nil, "", CheckedDockerfile{}, "", err
	}
	out, err := replaceInTar(raw, name, checked.Dockerfile)
	if err != nil {
		return nil, "", CheckedDockerfile{}, "", fmt.Errorf("rewrite build context: %w", err)
	}
	return out, name, checked, "", nil
}

// cleanTarName is a tar entry's path as the daemon resolves it in the
// context: relative, clean.
func cleanTarName(n string) string {
	n = path.Clean("/" + n)
	return strings.TrimPrefix(n, "/")
}

// findDockerfile returns the content of the last entry named name (the
// one extraction leaves), or a message when it is not a regular file.
func findDockerfile(raw []byte, name string) (src []byte, found bool, msg string) {
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return src, found, msg
		}
		if err != nil {
			return nil, false, fmt.Sprintf("the build context is not a valid archive: %v", err)
		}
		if cleanTarName(hdr.Name) != name {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			src, found, msg = nil, false, fmt.Sprintf("%s must be a regular file (not a link or a directory)", name)
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxDockerfileBytes+1))
		if err != nil {
			return nil, false, fmt.Sprintf("cannot read %s: %v", name, err)
		}
		src, found, msg = b, true, ""
	}
}

// replaceInTar copies raw without name (and anything under it) and adds
// name with content.
func replaceInTar(raw []byte, name string, content []byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n := cleanTarName(hdr.Name); n == name || strings.HasPrefix(n, name+"/") {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	return &buf, tw.Close()
}

var stepRe = regexp.MustCompile(`^Step ([0-9]+)/[0-9]+ : `)

func stepNumber(l string) (int, bool) {
	m := stepRe.FindStringSubmatch(l)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// isDaemonLine reports a line of the classic builder's own: not the
// candidate's instruction or program output.
func isDaemonLine(l string) bool {
	// The daemon colours a step's stderr (ESC[91m … ESC[0m): the reset
	// can open the next line, which is then one of its own.
	l = sgrRe.ReplaceAllString(l, "")
	for _, p := range []string{" ---> ", "Removing intermediate container ", "Successfully built ", "Successfully tagged ", "[Warning] ", "Sending build context"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

var (
	// sgrRe is an ANSI colour escape (Select Graphic Rendition).
	sgrRe = regexp.MustCompile("\x1b\\[[0-9;]*m")
	// the daemon's build context and data directories
	daemonPathRe = regexp.MustCompile(`[^\s"':]*/docker-builder[0-9]+/?|/var/lib/docker[^\s"':]*`)
	ociStartRe   = regexp.MustCompile(`(?:unable to start container process|starting container process caused): (.*?)(?:: unknown)?$`)
)

// daemonMessage turns a daemon error into what the candidate may read:
// without the daemon's prefix, the OCI runtime's wrapping and host paths.
func daemonMessage(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "Error response from daemon: ")
	if m := ociStartRe.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = daemonPathRe.ReplaceAllStringFunc(s, func(p string) string {
		if strings.Contains(p, "docker-builder") {
			return ""
		}
		return "<docker>"
	})
	return capLine(s)
}

// capLine shortens one line to maxOutputLine bytes (on a rune boundary).
func capLine(l string) string {
	if len(l) <= maxOutputLine {
		return l
	}
	cut := maxOutputLine
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + " …"
}

// capOutput keeps the end of a check's output excerpt within
// maxOutputBytes.
func capOutput(s string) string { return capTail(s, maxOutputBytes) }

// capTail keeps the last n bytes of s (whole runes), marked "… " when cut.
func capTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return "… " + s[cut:]
}
