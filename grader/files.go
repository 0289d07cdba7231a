package grader

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/opsdojo/opsdojo/analyzers/dockerfile"
	"github.com/opsdojo/opsdojo/analyzers/terraform"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// maxSymlinkHops bounds symlink resolution (as Linux's MAXSYMLINKS).
const maxSymlinkHops = 40

// errNoFile means the path does not exist in the sandbox.
var errNoFile = errors.New("no such file")

// sandboxFile is a file read from the target.
type sandboxFile struct {
	path    string // resolved path inside the sandbox
	content []byte
	mode    fs.FileMode
	uid     int
	gid     int
	isDir   bool
	known   bool // mode and owner are known (false for submitted files)
}

// readFile reads p from the target. In a live sandbox it goes through the
// daemon's archive API and resolves symlinks itself, always inside the
// sandbox's root: an absolute link target is taken from the sandbox's "/",
// never from the grader's.
func (g *Grader) readFile(ctx context.Context, t Target, p string) (*sandboxFile, error) {
	if t.SandboxID == "" {
		c, ok := t.Files[path.Clean(p)]
		if !ok {
			return nil, fmt.Errorf("%s: %w", p, errNoFile)
		}
		return &sandboxFile{path: p, content: c, mode: 0o644}, nil
	}
	cur := path.Clean("/" + p)
	for hop := 0; hop <= maxSymlinkHops; hop++ {
		hdr, content, err := g.copyOutOne(ctx, t.SandboxID, cur)
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeSymlink {
			target := hdr.Linkname
			if !strings.HasPrefix(target, "/") {
				target = path.Join(path.Dir(cur), target)
			}
			cur = path.Clean("/" + target) // ".." cannot climb above the sandbox's root
			continue
		}
		return &sandboxFile{path: cur, content: content, mode: fs.FileMode(hdr.Mode).Perm(), uid: hdr.Uid, gid: hdr.Gid,
			isDir: hdr.Typeflag == tar.TypeDir, known: true}, nil
	}
	return nil, fmt.Errorf("%s: too many levels of symbolic links", p)
}

func (g *Grader) copyOutOne(ctx context.Context, id, p string) (*tar.Header, []byte, error) {
	rc, err := g.sb.CopyOut(ctx, id, p, maxFileRead)
	if err != nil {
		if errors.Is(err, sandbox.ErrNoSuchPath) {
			return nil, nil, fmt.Errorf("%s: %w", p, errNoFile)
		}
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	var buf bytes.Buffer
	if hdr.Typeflag == tar.TypeReg {
		if _, err := io.Copy(&buf, io.LimitReader(tr, maxFileRead+1)); err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", p, err)
		}
		if buf.Len() > maxFileRead {
			return nil, nil, fmt.Errorf("%s is larger than %d bytes", p, maxFileRead)
		}
	}
	return hdr, buf.Bytes(), nil
}

// readDir returns the regular files directly in dir (name -> content).
func (g *Grader) readDir(ctx context.Context, t Target, dir string) (map[string][]byte, error) {
	dir = path.Clean("/" + dir)
	out := map[string][]byte{}
	if t.SandboxID == "" {
		for p, c := range t.Files {
			if path.Dir(p) == dir {
				out[path.Base(p)] = c
			}
		}
		return out, nil
	}
	f, err := g.readFile(ctx, t, dir) // resolve a symlinked dir inside the root
	if err != nil {
		return nil, err
	}
	if !f.isDir {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	rc, err := g.sb.CopyOut(ctx, t.SandboxID, f.path, 16*maxFileRead)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		parts := strings.Split(strings.TrimSuffix(hdr.Name, "/"), "/")
		if len(parts) != 2 || hdr.Typeflag != tar.TypeReg {
			continue // only regular files directly in the directory
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxFileRead))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", hdr.Name, err)
		}
		out[parts[1]] = data
	}
}

// debianStaticIDs are the users and groups Debian's base-passwd fixes.
// Their names resolve to these ids whatever the sandbox's /etc/passwd says,
// so a candidate cannot rename uid 0 "www-data" to pass an owner check.
var debianStaticIDs = map[string]int{
	"root": 0, "daemon": 1, "bin": 2, "sys": 3, "adm": 4, "tty": 5, "disk": 6, "lp": 7, "mail": 8, "news": 9,
	"uucp": 10, "man": 12, "proxy": 13, "kmem": 15, "dialout": 20, "fax": 21, "voice": 22, "cdrom": 24,
	"floppy": 25, "tape": 26, "sudo": 27, "audio": 29, "dip": 30, "www-data": 33, "backup": 34,
	"operator": 37, "list": 38, "irc": 39, "src": 40, "shadow": 42, "utmp": 43, "video": 44, "sasl": 45,
	"plugdev": 46, "staff": 50, "games": 60, "users": 100, "nogroup": 65534, "nobody": 65534,
}

// lookupID resolves a user or group name (or number) to an id.
func (g *Grader) lookupID(ctx context.Context, t Target, name, db string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	if id, ok := debianStaticIDs[name]; ok {
		return id, nil
	}
	f, err := g.readFile(ctx, t, db)
	if err != nil {
		return 0, fmt.Errorf("look up %q: %w", name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(f.content))
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 3 && fields[0] == name {
			if id, err := strconv.Atoi(fields[2]); err == nil {
				return id, nil
			}
		}
	}
	return 0, fmt.Errorf("no %s named %q in the sandbox", strings.TrimPrefix(db, "/etc/"), name)
}

func (g *Grader) fileCheck(ctx context.Context, t Target, fc *challenges.FileCheck, r *CheckResult) {
	p := expand(fc.Path, t.Env)
	wantExists := fc.Exists == nil || *fc.Exists
	f, err := g.readFile(ctx, t, p)
	if errors.Is(err, errNoFile) {
		if !wantExists {
			r.Passed, r.Message = true, p+" is absent, as required"
		} else {
			r.Message = p + " does not exist"
		}
		return
	}
	if err != nil {
		r.Message = err.Error()
		return
	}
	if !wantExists {
		r.Message = p + " exists but must not"
		return
	}
	var problems []string
	if fc.Mode != 0 {
		if !f.known {
			problems = append(problems, "permissions cannot be checked on submitted files")
		} else if f.mode != fs.FileMode(fc.Mode) {
			problems = append(problems, fmt.Sprintf("mode is %04o, expected %04o", uint32(f.mode), uint32(fc.Mode)))
		}
	}
	if fc.Owner != "" {
		user, group, hasGroup := strings.Cut(fc.Owner, ":")
		if !f.known {
			problems = append(problems, "ownership cannot be checked on submitted files")
		} else {
			if uid, err := g.lookupID(ctx, t, user, "/etc/passwd"); err != nil {
				problems = append(problems, err.Error())
			} else if uid != f.uid {
				problems = append(problems, fmt.Sprintf("owner is uid %d, expected %s (uid %d)", f.uid, user, uid))
			}
			if hasGroup {
				if gid, err := g.lookupID(ctx, t, group, "/etc/group"); err != nil {
					problems = append(problems, err.Error())
				} else if gid != f.gid {
					problems = append(problems, fmt.Sprintf("group is gid %d, expected %s (gid %d)", f.gid, group, gid))
				}
			}
		}
	}
	if fc.Contains != "" && !bytes.Contains(f.content, []byte(expand(fc.Contains, t.Env))) {
		problems = append(problems, fmt.Sprintf("does not contain %q", expand(fc.Contains, t.Env)))
	}
	if fc.Regex != "" {
		re, err := regexp.Compile("(?m)" + fc.Regex)
		if err != nil {
			problems = append(problems, "invalid regex: "+err.Error())
		} else if !re.Match(f.content) {
			problems = append(problems, fmt.Sprintf("does not match /%s/", fc.Regex))
		}
	}
	if len(problems) > 0 {
		r.Message = p + ": " + strings.Join(problems, "; ")
		return
	}
	r.Passed, r.Message = true, p+" is as expected"
}

func (g *Grader) dockerfileCheck(ctx context.Context, t Target, dc *challenges.DockerfileCheck, r *CheckResult) {
	p := expand(dc.Path, t.Env)
	f, err := g.readFile(ctx, t, p)
	if err != nil {
		r.Message = fmt.Sprintf("cannot read the Dockerfile: %v", err)
		return
	}
	rep, err := dockerfile.Check(p, f.content, dc.Options)
	if err != nil {
		r.Message = "invalid check options: " + err.Error()
		return
	}
	var lines []string
	for _, fd := range rep.Findings {
		r.Findings = append(r.Findings, Finding{File: p, Line: fd.Line, Rule: fd.Rule, Message: fd.Message})
		lines = append(lines, fmt.Sprintf("line %d: %s %s", fd.Line, fd.Rule, fd.Message))
	}
	if rep.OK() {
		r.Passed, r.Message = true, fmt.Sprintf("%d rules pass", len(rep.Rules))
		if len(lines) > 0 {
			r.Message += "; warnings:\n" + strings.Join(lines, "\n")
		}
		return
	}
	r.Message = strings.Join(lines, "\n")
}

func (g *Grader) terraformCheck(ctx context.Context, t Target, tc *challenges.TerraformCheck, r *CheckResult) {
	dir := expand(tc.Dir, t.Env)
	files, err := g.readDir(ctx, t, dir)
	if err != nil {
		r.Message = fmt.Sprintf("cannot read %s: %v", dir, err)
		return
	}
	rep, err := terraform.Check(files, tc.Assertions)
	if err != nil {
		r.Message = "invalid check options: " + err.Error()
		return
	}
	if rep.OK() {
		names := make([]string, 0, len(files))
		for n := range files {
			if strings.HasSuffix(n, ".tf") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		r.Passed, r.Message = true, "all assertions hold ("+strings.Join(names, ", ")+")"
		return
	}
	var lines []string
	for _, fd := range rep.Findings {
		file := fd.File
		if file != "" && !strings.HasPrefix(file, "/") {
			file = path.Join(dir, file)
		}
		r.Findings = append(r.Findings, Finding{File: file, Line: fd.Line, Rule: fd.Rule, Message: fd.Message})
		if fd.Line > 0 {
			lines = append(lines, fmt.Sprintf("%s:%d: %s", file, fd.Line, fd.Message))
		} else {
			lines = append(lines, fmt.Sprintf("%s: %s", file, fd.Message))
		}
	}
	r.Message = strings.Join(lines, "\n")
}
