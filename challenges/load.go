package challenges

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// SpecFile is the name of the spec in a challenge directory.
const SpecFile = "challenge.yaml"

// Challenge is a loaded, valid challenge: the spec with defaults applied and
// every file it references read into memory, so that nothing re-reads the
// disk mid-grading (a later edit cannot change an attempt's checks).
type Challenge struct {
	Spec
	// Dir is the absolute challenge directory.
	Dir string `json:"-"`
	// Version is the hex sha256 over challenge.yaml and every referenced
	// file (sorted by path): any edit makes a new version.
	Version string `json:"version"`
	// Files holds every referenced file (setup, on_resume, check scripts, starters,
	// solution, wrong fixes) by its clean slash path relative to Dir.
	Files map[string][]byte `json:"-"`
	// Raw is challenge.yaml as read.
	Raw []byte `json:"-"`
}

// File returns a referenced file's content by the path the spec uses.
func (c *Challenge) File(rel string) []byte {
	return c.Files[cleanRel(rel)]
}

// SetupScript, SolutionScript and WrongFixScripts return the scripts.
func (c *Challenge) SetupScript() []byte    { return c.File(c.Sandbox.Setup) }
func (c *Challenge) SolutionScript() []byte { return c.File(c.Solution) }

// ResumeScript is sandbox.on_resume, run as root when a hibernated practice
// sandbox is restored; nil when the challenge declares none.
func (c *Challenge) ResumeScript() []byte {
	if c.Sandbox.OnResume == "" {
		return nil
	}
	return c.File(c.Sandbox.OnResume)
}

// WrongFixScripts returns the wrong fixes by path, in spec order.
func (c *Challenge) WrongFixScripts() []NamedFile {
	out := make([]NamedFile, len(c.WrongFixes))
	for i, w := range c.WrongFixes {
		out[i] = NamedFile{Path: w.Script, Content: c.File(w.Script)}
	}
	return out
}

// NamedFile is a file's path in the challenge and its content.
type NamedFile struct {
	Path    string
	Content []byte
}

// StarterFiles returns what to copy into the sandbox before setup: each
// files[] entry with its starter content (empty when no starter).
func (c *Challenge) StarterFiles() []SandboxFile {
	out := make([]SandboxFile, len(c.Spec.Files))
	for i, f := range c.Spec.Files {
		out[i] = SandboxFile{Path: f.Path, Mode: f.Mode, Language: f.Language, Content: c.File(f.Starter)}
	}
	return out
}

// SandboxFile is a file to place in the sandbox.
type SandboxFile struct {
	Path     string
	Mode     FileMode
	Language string
	Content  []byte
}

// TotalPoints is the sum of the checks' points (full marks).
func (c *Challenge) TotalPoints() int {
	n := 0
	for _, ch := range c.Checks {
		n += ch.Points
	}
	return n
}

// CheckByID finds a check.
func (c *Challenge) CheckByID(id string) (Check, bool) {
	for _, ch := range c.Checks {
		if ch.ID == id {
			return ch, true
		}
	}
	return Check{}, false
}

// Env returns the environment for one attempt: the sandbox env plus the
// seeded variables (and OPSDOJO_SEED). Setup, checks and solution all get it.
func (c *Challenge) Env(seed int64) map[string]string {
	env := maps.Clone(c.Sandbox.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, c.Seeded(seed))
	env["OPSDOJO_SEED"] = strconv.FormatInt(seed, 10)
	return env
}

// Load reads and validates the challenge in dir with the default options
// (sandbox images: opsdojo's only). On failure the error is a Problems
// list (file:line:col: msg for each); other errors do not occur.
func Load(dir string) (*Challenge, error) { return LoadWith(dir, LoadOptions{}) }

// LoadWith is Load with the operator's options.
func LoadWith(dir string, opts LoadOptions) (*Challenge, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, Problems{{File: dir, Msg: err.Error()}}
	}
	l := &loader{dir: dir, abs: abs, files: map[string][]byte{}, opts: opts}
	l.d = &decoder{file: filepath.Join(dir, SpecFile), pos: map[string]*yaml.Node{}}
	ch := l.load()
	if len(l.d.probs) > 0 {
		yamlFile := l.d.file
		slices.SortStableFunc(l.d.probs, func(a, b Problem) int {
			ay, by := a.File == yamlFile, b.File == yamlFile
			switch {
			case ay && !by:
				return -1
			case by && !ay:
				return 1
			}
			if a.File != b.File {
				return strings.Compare(a.File, b.File)
			}
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return nil, l.d.probs
	}
	return ch, nil
}

type loader struct {
	dir, abs string
	d        *decoder
	files    map[string][]byte
	raw      []byte
	opts     LoadOptions
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) load() *Challenge {
	raw, err := os.ReadFile(filepath.Join(l.abs, SpecFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.d.probs = append(l.d.probs, Problem{File: l.d.file, Msg: "no " + SpecFile + " in this directory"})
		} else {
			l.d.probs = append(l.d.probs, Problem{File: l.d.file, Msg: fmt.Sprintf("cannot read: %v", err)})
		}
		return nil
	}
	l.raw = raw
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		p := Problem{File: l.d.file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		if errors.Is(err, io.EOF) {
			p.Msg = "file is empty"
		} else if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Msg = "invalid YAML: " + m[2]
		}
		l.d.probs = append(l.d.probs, p)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.d.addf(&extra, "only one YAML document is allowed (remove the ---)")
		return nil
	}
	if len(doc.Content) == 0 {
		l.d.probs = append(l.d.probs, Problem{File: l.d.file, Msg: "file is empty"})
		return nil
	}
	var spec Spec
	l.d.decode(doc.Content[0], "", reflect.ValueOf(&spec).Elem())
	// Validate even after decode problems: paths that failed to decode
	// are skipped, so an author sees every problem in one run.
	l.validate(&spec)
	l.loadLib()
	l.checkSources(&spec)
	if len(l.d.probs) > 0 {
		return nil
	}
	applyDefaults(&spec)
	return &Challenge{Spec: spec, Dir: l.abs, Version: version(raw, l.files), Files: l.files, Raw: raw}
}

// version hashes the spec and the referenced files in a stable order.
func version(raw []byte, files map[string][]byte) string {
	h := sha256.New()
	write := func(name string, b []byte) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	write(SpecFile, raw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		write(name, files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func cleanRel(p string) string { return filepath.ToSlash(filepath.Clean(filepath.FromSlash(p))) }

// ref validates and reads a file the spec references at path (a YAML
// path such as checks[0].run). It returns the clean relative path, or "".
func (l *loader) ref(path, rel string) string {
	n := l.d.at(path)
	switch {
	case rel == "":
		l.d.addf(n, "%s: must name a file in the challenge directory", path)
		return ""
	case filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, `\`):
		l.d.addf(n, "%s: %q must be relative to the challenge directory, not absolute", path, rel)
		return ""
	}
	clean := cleanRel(rel)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		l.d.addf(n, "%s: %q is outside the challenge directory", path, rel)
		return ""
	}
	if _, ok := l.files[clean]; ok {
		return clean
	}
	full := filepath.Join(l.abs, filepath.FromSlash(clean))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.d.addf(n, "%s: file %q does not exist", path, rel)
		} else {
			l.d.addf(n, "%s: cannot read %q: %v", path, rel, err)
		}
		return ""
	}
	realDir, err := filepath.EvalSymlinks(l.abs)
	if err != nil {
		realDir = l.abs
	}
	if r, err := filepath.Rel(realDir, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		l.d.addf(n, "%s: %q is a symlink that leads outside the challenge directory", path, rel)
		return ""
	}
	st, err := os.Stat(real)
	switch {
	case err != nil:
		l.d.addf(n, "%s: cannot read %q: %v", path, rel, err)
		return ""
	case st.IsDir():
		l.d.addf(n, "%s: %q is a directory, want a file", path, rel)
		return ""
	case !st.Mode().IsRegular():
		l.d.addf(n, "%s: %q is not a regular file", path, rel)
		return ""
	case st.Size() > MaxFileSize:
		l.d.addf(n, "%s: %q is %d bytes, more than the %d allowed", path, rel, st.Size(), MaxFileSize)
		return ""
	}
	b, err := os.ReadFile(real)
	if err != nil {
		l.d.addf(n, "%s: cannot read %q: %v", path, rel, err)
		return ""
	}
	l.files[clean] = b
	return clean
}

// display is how problems name a file of the challenge.
func (l *loader) display(clean string) string {
	return filepath.Join(l.dir, filepath.FromSlash(clean))
}

func applyDefaults(s *Spec) {
	if s.Sandbox.User == "" {
		s.Sandbox.User = DefaultUser
	}
	if s.Sandbox.Network == "" {
		s.Sandbox.Network = DefaultNetwork
	}
	r := &s.Sandbox.Resources
	if r.CPUs == 0 {
		r.CPUs = DefaultCPUs
	}
	if r.Memory == 0 {
		r.Memory = DefaultMemory
	}
	if r.Pids == 0 {
		r.Pids = DefaultPids
	}
	for i := range s.Files {
		f := &s.Files[i]
		if f.Mode == 0 {
			f.Mode = 0o644
		}
		if f.Language == "" {
			f.Language = inferLanguage(f.Path)
		}
	}
	for i := range s.Checks {
		c := &s.Checks[i]
		if c.Timeout == 0 {
			c.Timeout = Duration(DefaultCheckTimeout)
			if c.Pipeline != nil {
				c.Timeout = Duration(DefaultPipelineTimeout)
			}
		}
		switch {
		case c.HTTP != nil:
			if c.HTTP.Method == "" {
				c.HTTP.Method = "GET"
			}
			if c.HTTP.Status == 0 {
				c.HTTP.Status = 200
			}
		case c.File != nil:
			if c.File.Exists == nil {
				t := true
				c.File.Exists = &t
			}
		case c.DockerBuild != nil:
			b := c.DockerBuild
			if b.Dockerfile == "" {
				b.Dockerfile = "Dockerfile"
			}
			if b.BuildTimeout == 0 {
				b.BuildTimeout = Duration(DefaultBuildTimeout)
			}
			if b.Run != nil {
				if b.Run.HTTPPath == "" && b.Run.Port != 0 {
					b.Run.HTTPPath = "/"
				}
				if b.Run.ExpectStatus == 0 && b.Run.Port != 0 {
					b.Run.ExpectStatus = 200
				}
				if b.Run.ReadyTimeout == 0 {
					b.Run.ReadyTimeout = Duration(30e9)
				}
			}
		}
	}
}

func inferLanguage(p string) string {
	base := strings.ToLower(filepath.Base(p))
	switch {
	case base == "dockerfile" || strings.HasPrefix(base, "dockerfile.") || strings.HasSuffix(base, ".dockerfile") || base == "containerfile":
		return "dockerfile"
	case strings.HasSuffix(base, ".tf") || strings.HasSuffix(base, ".tfvars"):
		return "terraform"
	case strings.HasSuffix(base, ".hcl"):
		return "hcl"
	case strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml"):
		return "yaml"
	case strings.HasSuffix(base, ".json"):
		return "json"
	case strings.HasSuffix(base, ".sh") || strings.HasSuffix(base, ".bash"):
		return "shell"
	case strings.HasSuffix(base, ".py"):
		return "python"
	case strings.HasSuffix(base, ".go"):
		return "go"
	case strings.HasSuffix(base, ".js") || strings.HasSuffix(base, ".mjs"):
		return "javascript"
	case strings.HasSuffix(base, ".toml"):
		return "toml"
	case base == "nginx.conf" || strings.Contains(p, "/nginx/"):
		return "nginx"
	case strings.HasSuffix(base, ".ini") || strings.HasSuffix(base, ".conf") || strings.HasSuffix(base, ".cfg"):
		return "ini"
	case strings.HasSuffix(base, ".md"):
		return "markdown"
	}
	return "text"
}
