package challenges

import (
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/opsdojo/opsdojo/analyzers/dockerfile"
	"github.com/opsdojo/opsdojo/analyzers/terraform"
)

var (
	idRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)
	checkIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	tagRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)
	userRe    = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)
	envRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	seedRe    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	ownerRe   = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.-]*(:[a-z0-9_][a-z0-9_.-]*)?$`)
	tfTypeRe  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

var languages = []string{"dockerfile", "terraform", "hcl", "yaml", "json", "shell", "python", "go", "javascript", "nginx", "ini", "toml", "markdown", "text"}

// has reports whether the YAML set path.
func (l *loader) has(path string) bool { _, ok := l.d.pos[path]; return ok }

// isBad reports whether path or one of its parents failed to decode.
func (l *loader) isBad(path string) bool {
	for {
		if l.d.bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

func (l *loader) errf(path, format string, args ...any) {
	if l.isBad(path) {
		return
	}
	l.d.addf(l.d.at(path), "%s: "+format, append([]any{path}, args...)...)
}

// required reports a missing field at its parent.
func (l *loader) required(path, what string) bool {
	if l.has(path) {
		return true
	}
	if l.isBad(path) {
		return false
	}
	l.d.addf(l.d.at(path), "%s: missing; %s", path, what)
	return false
}

func oneOf[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func (l *loader) validate(s *Spec) {
	if l.required("id", "a slug such as nginx-bad-upstream is required") && !idRe.MatchString(s.ID) {
		l.errf("id", "must be a slug of 3-64 lower-case letters, digits and dashes (no leading or trailing dash), got %q", s.ID)
	}
	if l.required("title", "a one-line title is required") {
		if t := strings.TrimSpace(s.Title); t == "" || len(t) > 120 || strings.Contains(t, "\n") {
			l.errf("title", "must be one line of 1-120 characters")
		}
	}
	if l.required("kind", "one of "+oneOf(Kinds)) && !slices.Contains(Kinds, s.Kind) {
		l.errf("kind", "must be one of %s, got %q", oneOf(Kinds), s.Kind)
	}
	if l.required("difficulty", "one of "+oneOf(Difficulties)) && !slices.Contains(Difficulties, s.Difficulty) {
		l.errf("difficulty", "must be one of %s, got %q", oneOf(Difficulties), s.Difficulty)
	}
	if l.required("time_limit", "a duration such as 20m is required") && s.TimeLimit.D() > MaxTimeLimit {
		l.errf("time_limit", "must be at most %s, got %s", Duration(MaxTimeLimit), s.TimeLimit)
	}
	seenTag := map[string]bool{}
	for i, t := range s.Tags {
		p := index("tags", i)
		if !tagRe.MatchString(t) {
			l.errf(p, "must be lower case letters, digits, dots, dashes, got %q", t)
		}
		if seenTag[t] {
			l.errf(p, "duplicate tag %q", t)
		}
		seenTag[t] = true
	}
	if l.required("description", "Markdown shown to the candidate is required") && strings.TrimSpace(s.Description) == "" {
		l.errf("description", "must not be empty")
	}
	l.validateSandbox(s)
	l.validateVolumes(s)
	l.validateFiles(s)
	l.validateChecks(s)
	l.validateHints(s)
	if l.required("solution", "a script that solves the challenge is required") {
		l.ref("solution", s.Solution)
	}
	l.validateWrongFixes(s)
	l.validateSeed(s)
}

// validateWrongFixes checks each wrong fix's script and, in the mapping
// form, that its expectations can be met: named checks exist and the
// expected score is below full marks and reachable with those checks failed.
func (l *loader) validateWrongFixes(s *Spec) {
	seenFix := map[string]bool{}
	points := map[string]int{}
	total := 0
	for _, c := range s.Checks {
		points[c.ID] = c.Points
		total += c.Points
	}
	for i, w := range s.WrongFixes {
		p := index("wrong_fixes", i)
		sp := join(p, "script")
		if n := l.d.pos[p]; n == nil || n.Kind != yaml.MappingNode {
			sp = p // the short form: the path itself
			if l.isBad(p) {
				continue
			}
		} else if !l.required(sp, "the wrong fix's script is required") {
			continue
		}
		if c := l.ref(sp, w.Script); c != "" {
			if seenFix[c] {
				l.errf(sp, "duplicate wrong fix %q", w.Script)
			}
			seenFix[c] = true
			if c == cleanRel(s.Solution) {
				l.errf(sp, "%q is the solution, it cannot also be a wrong fix", w.Script)
			}
		}
		failedPoints := 0
		seen := map[string]bool{}
		for j, id := range w.ExpectFailed {
			ep := index(join(p, "expect_failed"), j)
			pts, ok := points[id]
			switch {
			case !ok:
				var ids []string
				for _, c := range s.Checks {
					ids = append(ids, c.ID)
				}
				l.errf(ep, "no check has id %q%s; checks: %s", id, suggest(id, ids), strings.Join(ids, ", "))
			case seen[id]:
				l.errf(ep, "duplicate check id %q", id)
			default:
				failedPoints += pts
			}
			seen[id] = true
		}
		if w.ExpectScore == nil {
			continue
		}
		ep := join(p, "expect_score")
		switch score := *w.ExpectScore; {
		case score < 0:
			l.errf(ep, "must not be negative, got %d", score)
		case total > 0 && score >= total:
			l.errf(ep, "a wrong fix must score less than full marks (%d), got %d", total, score)
		case score > total-failedPoints:
			l.errf(ep, "%d cannot be reached with %s failing (at most %d)", score, strings.Join(w.ExpectFailed, ", "), total-failedPoints)
		}
	}
}

func (l *loader) validateSandbox(s *Spec) {
	if !l.required("sandbox", "a mapping with at least image is required") {
		return
	}
	sb := &s.Sandbox
	if l.required("sandbox.image", "the sandbox image name is required, e.g. opsdojo/shell") {
		switch {
		case strings.TrimSpace(sb.Image) == "":
			l.errf("sandbox.image", "must not be empty")
		case strings.TrimSpace(sb.Image) == BuildImage:
			l.resolveBuildImage(s) // image/Dockerfile, see image_build.go
		case !l.opts.SandboxImageAllowed(sb.Image):
			// The server never pulls: an image from elsewhere would have to
			// be fetched by the Docker host, or be one of the host's own.
			l.errf("sandbox.image", "%q is not allowed: use an image opsdojo builds (opsdojo/<name>, from library/images) or one the operator allows with --allowed-images (allowed now: %s)", sb.Image, l.opts.allowedImagesText())
		}
	}
	if sb.User != "" && !userRe.MatchString(sb.User) {
		l.errf("sandbox.user", "must be a user name such as candidate, got %q", sb.User)
	}
	if sb.Network != "" && sb.Network != "none" && sb.Network != "isolated" {
		l.errf("sandbox.network", "must be none or isolated, got %q", sb.Network)
	}
	seen := map[string]bool{}
	for i, c := range sb.Capabilities {
		p := index("sandbox.capabilities", i)
		switch {
		case strings.HasPrefix(c, "CAP_") && slices.Contains(AllowedCapabilities, strings.TrimPrefix(c, "CAP_")):
			l.errf(p, "write %s without the CAP_ prefix", strings.TrimPrefix(c, "CAP_"))
		case !slices.Contains(AllowedCapabilities, c):
			l.errf(p, "capability %q is not allowed; allowed: %s", c, strings.Join(AllowedCapabilities, ", "))
		case seen[c]:
			l.errf(p, "duplicate capability %s", c)
		}
		seen[c] = true
	}
	r := sb.Resources
	if l.has("sandbox.resources.cpus") && (r.CPUs <= 0 || r.CPUs > MaxCPUs) {
		l.errf("sandbox.resources.cpus", "must be more than 0 and at most %g, got %g", MaxCPUs, r.CPUs)
	}
	if l.has("sandbox.resources.memory") && (r.Memory < 16<<20 || r.Memory > MaxMemory) {
		l.errf("sandbox.resources.memory", "must be between 16Mi and %s, got %s", MaxMemory, r.Memory)
	}
	if l.has("sandbox.resources.pids") && (r.Pids < 16 || r.Pids > MaxPids) {
		l.errf("sandbox.resources.pids", "must be between 16 and %d, got %d", MaxPids, r.Pids)
	}
	if l.has("sandbox.resources.disk") && (r.Disk < 16<<20 || r.Disk > MaxDisk) {
		l.errf("sandbox.resources.disk", "must be between 16Mi and %s, got %s", MaxDisk, r.Disk)
	}
	if l.has("sandbox.setup") {
		l.ref("sandbox.setup", sb.Setup)
	} else if s.Kind == KindTroubleshoot {
		l.d.addf(l.d.at("sandbox"), "sandbox.setup: missing; a troubleshoot challenge needs a setup script that breaks something")
	}
	if l.has("sandbox.on_resume") {
		l.ref("sandbox.on_resume", sb.OnResume)
	}
	for _, k := range sortedKeys(sb.Env) {
		p := join("sandbox.env", k)
		switch {
		case !envRe.MatchString(k):
			l.errf(p, "%q is not a valid environment variable name", k)
		case strings.HasPrefix(k, "OPSDOJO_") || k == "SANDBOX_ROOT":
			l.errf(p, "%s is reserved for opsdojo", k)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// sandboxPath checks an absolute, clean path in the sandbox.
func (l *loader) sandboxPath(p, v string) bool {
	switch {
	case !strings.HasPrefix(v, "/"):
		l.errf(p, "must be an absolute path in the sandbox, got %q", v)
	case path.Clean(v) != v:
		l.errf(p, "must be a clean path (%q), got %q", path.Clean(v), v)
	default:
		return true
	}
	return false
}

func (l *loader) validateFiles(s *Spec) {
	seen := map[string]bool{}
	for i, f := range s.Files {
		p := index("files", i)
		if l.required(join(p, "path"), "the absolute path in the sandbox is required") && l.sandboxPath(join(p, "path"), f.Path) {
			if seen[f.Path] {
				l.errf(join(p, "path"), "duplicate file %s", f.Path)
			}
			seen[f.Path] = true
		}
		if f.Language != "" && !slices.Contains(languages, f.Language) {
			l.errf(join(p, "language"), "must be one of %s, got %q", strings.Join(languages, ", "), f.Language)
		}
		if !l.has(join(p, "starter")) {
			continue
		}
		clean := l.ref(join(p, "starter"), f.Starter)
		if clean == "" {
			continue
		}
		lang := f.Language
		if lang == "" {
			lang = inferLanguage(f.Path)
		}
		l.parseStarter(clean, lang)
	}
}

// parseStarter reports a starter Dockerfile or .tf file that would not
// parse, at its own line.
func (l *loader) parseStarter(clean, lang string) {
	src := l.files[clean]
	switch lang {
	case "dockerfile":
		if err := dockerfile.Validate(src); err != nil {
			se := err.(*dockerfile.SyntaxError)
			l.d.probs = append(l.d.probs, Problem{File: l.display(clean), Line: se.Line, Col: 1, Msg: "Dockerfile does not parse: " + se.Msg})
		}
	case "terraform", "hcl":
		for _, f := range terraform.SyntaxErrors(l.display(clean), src) {
			l.d.probs = append(l.d.probs, Problem{File: f.File, Line: f.Line, Col: f.Col, Msg: "HCL does not parse: " + f.Message})
		}
	}
}

func (l *loader) validateChecks(s *Spec) {
	if !l.required("checks", "at least one check is required") {
		return
	}
	if len(s.Checks) == 0 {
		l.errf("checks", "must list at least one check")
	}
	ids := map[string]string{}
	hasType := map[string]bool{}
	for i := range s.Checks {
		c := &s.Checks[i]
		p := index("checks", i)
		hasType[c.Type] = true
		if l.required(join(p, "id"), "a check id (slug) is required") {
			if !checkIDRe.MatchString(c.ID) {
				l.errf(join(p, "id"), "must be lower-case letters, digits and dashes, got %q", c.ID)
			} else if prev, dup := ids[c.ID]; dup {
				l.errf(join(p, "id"), "duplicate check id %q (also %s)", c.ID, prev)
			}
			ids[c.ID] = p
		}
		if l.required(join(p, "title"), "a title shown to the candidate is required") && strings.TrimSpace(c.Title) == "" {
			l.errf(join(p, "title"), "must not be empty")
		}
		if l.required(join(p, "points"), "must be a positive integer") && c.Points <= 0 {
			l.errf(join(p, "points"), "must be a positive integer, got %d", c.Points)
		}
		if maxT := maxCheckTimeout(c); c.Timeout.D() > maxT {
			l.errf(join(p, "timeout"), "must be at most %s, got %s", Duration(maxT), c.Timeout)
		}
		switch {
		case c.Script != nil:
			if l.required(join(p, "run"), "the script to run is required") {
				l.ref(join(p, "run"), c.Script.Run)
			}
		case c.File != nil:
			l.validateFileCheck(p, c.File)
		case c.HTTP != nil:
			l.validateHTTPCheck(p, c.HTTP)
			l.validateHTTPExtras(s, p, c.HTTP)
		case c.TCP != nil:
			l.validateTCPCheck(s, p, c.TCP)
		case c.PortOwner != nil:
			l.validatePortOwnerCheck(s, p, c.PortOwner)
		case c.Dockerfile != nil:
			if l.required(join(p, "path"), "the Dockerfile's path in the sandbox is required") {
				l.sandboxPath(join(p, "path"), c.Dockerfile.Path)
			}
			seen := map[string]bool{}
			for j, r := range c.Dockerfile.Rules {
				rp := index(join(p, "rules"), j)
				if !dockerfile.IsRule(r) {
					var known []string
					for _, x := range dockerfile.Rules() {
						known = append(known, x.ID)
					}
					l.errf(rp, "unknown rule %q; expected one of: %s", r, strings.Join(known, ", "))
				} else if seen[r] {
					l.errf(rp, "duplicate rule %s", r)
				}
				seen[r] = true
			}
		case c.DockerBuild != nil:
			l.validateBuildCheck(p, c.DockerBuild)
		case c.Terraform != nil:
			l.validateTerraformCheck(p, c.Terraform)
		case c.Pipeline != nil:
			l.validatePipelineCheck(p, c.Pipeline)
		}
	}
	switch s.Kind {
	case KindDockerfile:
		if !hasType[CheckDockerfile] && !hasType[CheckDockerBuild] {
			l.errf("checks", "a dockerfile challenge needs a dockerfile or docker_build check")
		}
	case KindTerraform:
		if !hasType[CheckTerraform] {
			l.errf("checks", "a terraform challenge needs a terraform check")
		}
	case KindPipeline:
		if !hasType[CheckPipeline] {
			l.errf("checks", "a pipeline challenge needs a pipeline check")
		}
	}
}

func (l *loader) validateFileCheck(p string, f *FileCheck) {
	if l.required(join(p, "path"), "the file's absolute path in the sandbox is required") {
		l.sandboxPath(join(p, "path"), f.Path)
	}
	if f.Owner != "" && !ownerRe.MatchString(f.Owner) {
		l.errf(join(p, "owner"), "must be user or user:group, got %q", f.Owner)
	}
	if f.Regex != "" {
		if _, err := regexp.Compile(f.Regex); err != nil {
			l.errf(join(p, "regex"), "invalid regexp: %v", err)
		}
	}
	if f.Exists != nil && !*f.Exists {
		for _, k := range []string{"mode", "owner", "contains", "regex"} {
			if l.has(join(p, k)) {
				l.errf(join(p, k), "makes no sense with exists: false")
			}
		}
	}
}

func (l *loader) validateHTTPCheck(p string, h *HTTPCheck) {
	if l.required(join(p, "url"), "the URL to request is required, e.g. http://localhost:8080/") {
		// ${VAR} (a seed or sandbox env variable) is expanded per attempt;
		// validate the URL's shape with a stand-in value.
		u, err := url.Parse(os.Expand(h.URL, func(string) string { return "1" }))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.errf(join(p, "url"), "must be an http:// or https:// URL with a host, got %q", h.URL)
		}
	}
	if h.Method != "" && !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "DELETE"}, h.Method) {
		l.errf(join(p, "method"), "must be GET, HEAD, POST, PUT or DELETE, got %q", h.Method)
	}
	if l.has(join(p, "status")) && (h.Status < 100 || h.Status > 599) {
		l.errf(join(p, "status"), "must be an HTTP status between 100 and 599, got %d", h.Status)
	}
	if h.BodyRegex != "" {
		if _, err := regexp.Compile(h.BodyRegex); err != nil {
			l.errf(join(p, "body_regex"), "invalid regexp: %v", err)
		}
	}
}

func (l *loader) validateBuildCheck(p string, b *DockerBuildCheck) {
	if l.required(join(p, "context"), "the build context directory in the sandbox is required") {
		l.sandboxPath(join(p, "context"), b.Context)
	}
	if b.Dockerfile != "" {
		if c := path.Clean(b.Dockerfile); strings.HasPrefix(b.Dockerfile, "/") || c == ".." || strings.HasPrefix(c, "../") {
			l.errf(join(p, "dockerfile"), "must be a path inside the context, got %q", b.Dockerfile)
		}
	}
	if b.Network {
		l.errf(join(p, "network"), "builds never have network access (a build could reach the host's internal services); vendor what the build needs into the context")
	}
	if b.BuildTimeout.D() > MaxBuildTimeout {
		l.errf(join(p, "build_timeout"), "must be at most %s, got %s", Duration(MaxBuildTimeout), b.BuildTimeout)
	}
	if r := b.Run; r != nil {
		rp := join(p, "run")
		if r.Port == 0 && len(r.Command) == 0 {
			l.errf(rp, "needs port (probe over HTTP) or command (run in the container)")
		}
		if l.has(join(rp, "port")) && (r.Port < 1 || r.Port > 65535) {
			l.errf(join(rp, "port"), "must be a port between 1 and 65535, got %d", r.Port)
		}
		if l.has(join(rp, "expect_status")) && (r.ExpectStatus < 100 || r.ExpectStatus > 599) {
			l.errf(join(rp, "expect_status"), "must be an HTTP status between 100 and 599, got %d", r.ExpectStatus)
		}
		if r.HTTPPath != "" && !strings.HasPrefix(r.HTTPPath, "/") {
			l.errf(join(rp, "http_path"), "must start with /, got %q", r.HTTPPath)
		}
		l.validateBuildRunExtras(rp, r)
	}
}

func (l *loader) validateTerraformCheck(p string, t *TerraformCheck) {
	if l.required(join(p, "dir"), "the configuration directory in the sandbox is required") {
		l.sandboxPath(join(p, "dir"), t.Dir)
	}
	for j, r := range t.Resources {
		rp := index(join(p, "resources"), j)
		if l.required(join(rp, "type"), "a resource type such as aws_s3_bucket is required") && !tfTypeRe.MatchString(r.Type) {
			l.errf(join(rp, "type"), "must be a resource type such as aws_s3_bucket, got %q", r.Type)
		}
	}
	for j := range t.Variables {
		l.required(join(index(join(p, "variables"), j), "name"), "the variable name is required")
	}
	known := terraform.ForbidPatterns()
	for j, f := range t.Forbid {
		if !slices.Contains(known, f) {
			l.errf(index(join(p, "forbid"), j), "unknown pattern %q; expected one of: %s", f, strings.Join(known, ", "))
		}
	}
}

func (l *loader) validateHints(s *Spec) {
	total := 0
	for _, c := range s.Checks {
		total += c.Points
	}
	for i, h := range s.Hints {
		p := index("hints", i)
		if l.required(join(p, "text"), "the hint text is required") && strings.TrimSpace(h.Text) == "" {
			l.errf(join(p, "text"), "must not be empty")
		}
		if h.Cost < 0 {
			l.errf(join(p, "cost"), "must not be negative, got %d", h.Cost)
		} else if total > 0 && h.Cost > total {
			l.errf(join(p, "cost"), "costs %d, more than the %d points the checks are worth", h.Cost, total)
		}
	}
}

func (l *loader) validateSeed(s *Spec) {
	if s.Seed == nil {
		if l.has("seed") {
			l.errf("seed", "must be a mapping with vars")
		}
		return
	}
	if !l.required("seed.vars", "a list of variables is required") {
		return
	}
	seen := map[string]bool{}
	ports := 0
	for i, v := range s.Seed.Vars {
		p := index("seed.vars", i)
		if l.required(join(p, "name"), "an environment variable name such as APP_PORT is required") {
			switch {
			case !seedRe.MatchString(v.Name):
				l.errf(join(p, "name"), "must be upper case letters, digits and underscores (an environment variable), got %q", v.Name)
			case strings.HasPrefix(v.Name, "OPSDOJO_") || v.Name == "SANDBOX_ROOT":
				l.errf(join(p, "name"), "%s is reserved for opsdojo", v.Name)
			case seen[v.Name]:
				l.errf(join(p, "name"), "duplicate variable %s", v.Name)
			case s.Sandbox.Env[v.Name] != "":
				l.errf(join(p, "name"), "%s is also set in sandbox.env", v.Name)
			}
			seen[v.Name] = true
		}
		if !l.required(join(p, "kind"), "one of port, word, int") {
			continue
		}
		lo, hi := v.bounds()
		switch v.Kind {
		case SeedPort:
			ports++
			if lo < 1024 || hi > 65535 {
				l.errf(p, "port range must be within 1024-65535, got %d-%d", lo, hi)
			}
		case SeedInt:
		case SeedWord:
			for j, w := range v.Words {
				if !wordRe.MatchString(w) {
					l.errf(index(join(p, "words"), j), "must be a simple word (letters, digits, dashes), got %q", w)
				}
			}
		default:
			l.errf(join(p, "kind"), "must be port, word or int, got %q", v.Kind)
			continue
		}
		if v.Kind != SeedWord && lo > hi {
			l.errf(p, "min %d is greater than max %d", lo, hi)
		}
		if v.Kind == SeedWord && (l.has(join(p, "min")) || l.has(join(p, "max"))) {
			l.errf(p, "min and max do not apply to a word")
		}
		if v.Kind != SeedWord && len(v.Words) > 0 {
			l.errf(join(p, "words"), "words apply only to kind word")
		}
	}
	_ = ports
}
