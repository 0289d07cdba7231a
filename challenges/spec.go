// Package challenges defines the challenge format (challenge.yaml plus the
// scripts and files it names), loads and validates it with file:line:col
// problems, derives per-attempt seeded values, generates the JSON Schema and
// keeps a hot-reloading catalog.
//
// Dependencies: besides yaml.v3 this package imports the two static check
// engines (analyzers/dockerfile, analyzers/terraform). They are pure leaf
// packages (no Docker, no disk, nothing else of ours); importing them lets
// lint reject a Dockerfile or .tf starter exactly when the grader could not
// parse it, and lets the check types embed the engines' option types so the
// YAML and the grader can never disagree about rule ids.
package challenges

import (
	"time"

	"github.com/opsdojo/opsdojo/analyzers/dockerfile"
	"github.com/opsdojo/opsdojo/analyzers/terraform"
)

// Kind of challenge.
type Kind string

const (
	KindTroubleshoot Kind = "troubleshoot"
	KindDockerfile   Kind = "dockerfile"
	KindTerraform    Kind = "terraform"
	KindPipeline     Kind = "pipeline"
)

// Kinds lists the valid kinds.
var Kinds = []Kind{KindTroubleshoot, KindDockerfile, KindTerraform, KindPipeline}

// Difficulty of a challenge.
type Difficulty string

const (
	Easy   Difficulty = "easy"
	Medium Difficulty = "medium"
	Hard   Difficulty = "hard"
)

// Difficulties lists the valid difficulties.
var Difficulties = []Difficulty{Easy, Medium, Hard}

// Check types.
const (
	CheckScript      = "script"
	CheckFile        = "file"
	CheckHTTP        = "http"
	CheckDockerfile  = "dockerfile"
	CheckDockerBuild = "docker_build"
	CheckTerraform   = "terraform"
	CheckTCP         = "tcp"
	CheckPortOwner   = "port_owner"
	CheckPipeline    = "pipeline"
)

// CheckTypes lists the valid check types.
var CheckTypes = []string{CheckScript, CheckFile, CheckHTTP, CheckDockerfile, CheckDockerBuild, CheckTerraform, CheckTCP, CheckPortOwner, CheckPipeline}

// Limits and defaults of the format (see docs/CHALLENGES.md).
const (
	DefaultCheckTimeout = 10 * time.Second
	MaxCheckTimeout     = 5 * time.Minute
	MaxTimeLimit        = 8 * time.Hour
	DefaultUser         = "candidate"
	DefaultNetwork      = "none"
	DefaultCPUs         = 1.0
	MaxCPUs             = 2.0 // the limits below match the sandbox defaults (sandbox.DefaultMax*)
	DefaultMemory       = Size(512 << 20)
	MaxMemory           = Size(2 << 30)
	DefaultPids         = 256
	MaxPids             = 1024 // the sandbox default cap (sandbox.DefaultMaxPids)
	MaxDisk             = Size(8 << 30)
	DefaultBuildTimeout = 3 * time.Minute
	MaxBuildTimeout     = 15 * time.Minute
	MaxFileSize         = 1 << 20 // any single referenced file
)

// AllowedCapabilities are the Linux capabilities a challenge may add back
// (every sandbox drops ALL). Anything else (SYS_ADMIN, NET_ADMIN, SYS_PTRACE…)
// would weaken the sandbox for every attempt.
var AllowedCapabilities = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "NET_RAW", "SETGID", "SETUID", "SYS_CHROOT"}

// Spec is challenge.yaml as written. Paths of files in the challenge
// (setup, on_resume, run, starter, solution, wrong_fixes) are relative to the YAML;
// paths in the sandbox (files[].path, file checks) are absolute.
type Spec struct {
	ID          string     `yaml:"id" jsonschema:"required,minLength=3,maxLength=64,pattern=^[a-z0-9][a-z0-9-]*[a-z0-9]$" jsonschema_description:"stable slug (lower case letters, digits, dashes); the version is a content hash"`
	Title       string     `yaml:"title" jsonschema:"required,minLength=1,maxLength=120"`
	Kind        Kind       `yaml:"kind" jsonschema:"required,enum=troubleshoot,enum=dockerfile,enum=terraform,enum=pipeline"`
	Difficulty  Difficulty `yaml:"difficulty" jsonschema:"required,enum=easy,enum=medium,enum=hard"`
	TimeLimit   Duration   `yaml:"time_limit" jsonschema:"required" jsonschema_description:"time the candidate gets, e.g. 20m (at most 8h)"`
	Tags        []string   `yaml:"tags,omitempty" jsonschema:"uniqueItems=true"`
	Description string     `yaml:"description" jsonschema:"required,minLength=1" jsonschema_description:"Markdown shown to the candidate"`
	Sandbox     Sandbox    `yaml:"sandbox" jsonschema:"required"`
	Files       []File     `yaml:"files,omitempty" jsonschema_description:"files copied into the sandbox before setup and editable in the browser"`
	Checks      []Check    `yaml:"checks" jsonschema:"required,minItems=1"`
	Hints       []Hint     `yaml:"hints,omitempty"`
	Solution    string     `yaml:"solution" jsonschema:"required" jsonschema_description:"bash script run in the sandbox as its user (as the candidate would); must reach full marks in challenge test"`
	WrongFixes  []WrongFix `yaml:"wrong_fixes,omitempty" jsonschema_description:"bash scripts that must NOT reach full marks: a path, or {script, expect_failed, expect_score}"`
	Seed        *Seed      `yaml:"seed,omitempty" jsonschema_description:"values derived per attempt, given to setup, checks and solution as environment variables"`
}

// WrongFix is a plausible mistake that must not reach full marks. Written
// as a plain path, or as a mapping that also pins what it must score, so a
// partial-credit regression (a check that starts passing for it) fails
// `challenge test`.
type WrongFix struct {
	Script       string   `yaml:"script" jsonschema:"required" jsonschema_description:"bash script in the challenge dir, run in the sandbox as its user"`
	ExpectFailed []string `yaml:"expect_failed,omitempty" jsonschema:"uniqueItems=true" jsonschema_description:"ids of checks that must fail for it"`
	ExpectScore  *int     `yaml:"expect_score,omitempty" jsonschema:"minimum=0" jsonschema_description:"the exact score it must get (less than full marks)"`
}

// Sandbox describes the attempt's container.
type Sandbox struct {
	Image        string            `yaml:"image" jsonschema:"required,minLength=1" jsonschema_description:"image name, e.g. opsdojo/shell; or build: the challenge ships its image, built from image/Dockerfile (FROM an opsdojo/* or operator-allowed local image)"`
	User         string            `yaml:"user,omitempty" jsonschema:"pattern=^[a-z_][a-z0-9_-]*$" jsonschema_description:"candidate shell user (default candidate)"`
	Resources    Resources         `yaml:"resources,omitempty"`
	Network      string            `yaml:"network,omitempty" jsonschema:"enum=none,enum=isolated" jsonschema_description:"none (default) or isolated (internal network, no route out)"`
	Capabilities []string          `yaml:"capabilities,omitempty" jsonschema:"uniqueItems=true,enum=AUDIT_WRITE,enum=CHOWN,enum=DAC_OVERRIDE,enum=FOWNER,enum=FSETID,enum=KILL,enum=NET_BIND_SERVICE,enum=NET_RAW,enum=SETGID,enum=SETUID,enum=SYS_CHROOT" jsonschema_description:"capabilities added back after dropping ALL"`
	Setup        string            `yaml:"setup,omitempty" jsonschema_description:"bash script run as root before the candidate connects (required for troubleshoot)"`
	OnResume     string            `yaml:"on_resume,omitempty" jsonschema_description:"bash script run as root when a practice sandbox is restored after being hibernated (processes do not survive: start again the services the candidate is expected to keep running, using their config files as they are)"`
	Env          map[string]string `yaml:"env,omitempty" jsonschema_description:"environment of the candidate shell, setup, checks and solution"`
	Volumes      []Volume          `yaml:"volumes,omitempty" jsonschema_description:"small sized writable filesystems (tmpfs) for disk-full scenarios; empty at start, filled by setup"`
}

// Volume is a small writable filesystem of its own size and inode count
// mounted at Path (a tmpfs: its pages count against the sandbox memory).
type Volume struct {
	Path   string   `yaml:"path" jsonschema:"required,pattern=^/" jsonschema_description:"absolute mount point, e.g. /var/log/app (not /, /tmp, /var/tmp or under /proc, /sys, /dev)"`
	Size   Size     `yaml:"size" jsonschema:"required" jsonschema_description:"e.g. 32Mi (1Mi to 1Gi, at most the sandbox memory)"`
	Inodes int64    `yaml:"inodes,omitempty" jsonschema:"minimum=1,maximum=1048576" jsonschema_description:"how many files and directories it can hold (default 4096)"`
	Mode   FileMode `yaml:"mode,omitempty" jsonschema_description:"octal permissions of its root, default 1777 (like /tmp)"`
}

// Resources are the sandbox limits.
type Resources struct {
	CPUs   float64 `yaml:"cpus,omitempty" jsonschema:"exclusiveMinimum=0,maximum=2" jsonschema_description:"cores, e.g. 0.5 (default 1, at most 2)"`
	Memory Size    `yaml:"memory,omitempty" jsonschema_description:"e.g. 256Mi (default 512Mi, at most 2Gi); swap is not added"`
	Pids   int64   `yaml:"pids,omitempty" jsonschema:"minimum=16,maximum=1024" jsonschema_description:"process limit (default 256)"`
	Disk   Size    `yaml:"disk,omitempty" jsonschema_description:"writable space, e.g. 1Gi (how it is enforced depends on the host)"`
}

// File is a file placed in the sandbox before setup.
type File struct {
	Path     string   `yaml:"path" jsonschema:"required,pattern=^/" jsonschema_description:"absolute path in the sandbox"`
	Starter  string   `yaml:"starter,omitempty" jsonschema_description:"file in the challenge dir with the initial content (empty file when omitted)"`
	Mode     FileMode `yaml:"mode,omitempty" jsonschema_description:"octal permissions, default 0644"`
	Language string   `yaml:"language,omitempty" jsonschema:"enum=dockerfile,enum=terraform,enum=hcl,enum=yaml,enum=json,enum=shell,enum=python,enum=go,enum=javascript,enum=nginx,enum=ini,enum=toml,enum=markdown,enum=text" jsonschema_description:"editor language (inferred from the file name when omitted)"`
}

// Hint is shown on request for a point cost.
type Hint struct {
	Text string `yaml:"text" jsonschema:"required,minLength=1"`
	Cost int    `yaml:"cost,omitempty" jsonschema:"minimum=0" jsonschema_description:"points deducted when taken"`
}

// Check is one graded check. Type selects which of the typed parts is set;
// exactly one of them is non-nil after Load.
type Check struct {
	ID      string   `yaml:"id"`
	Title   string   `yaml:"title"`
	Type    string   `yaml:"type"`
	Points  int      `yaml:"points"`
	Timeout Duration `yaml:"timeout"`
	Hidden  bool     `yaml:"hidden"`

	Script      *ScriptCheck      `yaml:"-"`
	File        *FileCheck        `yaml:"-"`
	HTTP        *HTTPCheck        `yaml:"-"`
	Dockerfile  *DockerfileCheck  `yaml:"-"`
	DockerBuild *DockerBuildCheck `yaml:"-"`
	Terraform   *TerraformCheck   `yaml:"-"`
	Pipeline    *PipelineCheck    `yaml:"-"`
	TCP         *TCPCheck         `yaml:"-"`
	PortOwner   *PortOwnerCheck   `yaml:"-"`
}

// checkBase is the common part of every check, as the schema shows it.
type checkBase struct {
	ID      string   `yaml:"id" jsonschema:"required,pattern=^[a-z0-9][a-z0-9-]*$"`
	Title   string   `yaml:"title" jsonschema:"required,minLength=1"`
	Type    string   `yaml:"type,omitempty" jsonschema_description:"check type (script when omitted)"`
	Points  int      `yaml:"points" jsonschema:"required,minimum=1"`
	Timeout Duration `yaml:"timeout,omitempty" jsonschema_description:"default 10s, at most 5m"`
	Hidden  bool     `yaml:"hidden,omitempty" jsonschema_description:"hide the details (title only) in interview mode"`
}

// ScriptCheck runs a bash script in the trusted grader container that
// shares the sandbox's network and PID namespaces: the sandbox's filesystem
// is at $SANDBOX_ROOT, its services on localhost. Exit 0 = pass; stdout
// lines become the feedback.
type ScriptCheck struct {
	Run string `yaml:"run" jsonschema:"required" jsonschema_description:"script in the challenge dir"`
}

// FileCheck inspects a file in the sandbox (resolved inside the sandbox
// root; owner names are looked up in the sandbox's /etc/passwd).
type FileCheck struct {
	Path     string   `yaml:"path" jsonschema:"required,pattern=^/" jsonschema_description:"absolute path in the sandbox"`
	Exists   *bool    `yaml:"exists,omitempty" jsonschema_description:"default true; false asserts the file is absent"`
	Mode     FileMode `yaml:"mode,omitempty" jsonschema_description:"exact octal permissions, e.g. 0640"`
	Owner    string   `yaml:"owner,omitempty" jsonschema:"pattern=^[a-z0-9_][a-z0-9_.-]*(:[a-z0-9_][a-z0-9_.-]*)?$" jsonschema_description:"user or user:group (names or ids)"`
	Contains string   `yaml:"contains,omitempty" jsonschema_description:"substring the content must contain"`
	Regex    string   `yaml:"regex,omitempty" jsonschema_description:"RE2 regexp (multi-line mode) the content must match"`
}

// HTTPCheck requests a URL from inside the sandbox's network namespace.
type HTTPCheck struct {
	URL          string `yaml:"url" jsonschema:"required,pattern=^https?://" jsonschema_description:"e.g. http://localhost:8080/healthz"`
	Method       string `yaml:"method,omitempty" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=DELETE" jsonschema_description:"default GET"`
	Status       int    `yaml:"status,omitempty" jsonschema:"minimum=100,maximum=599" jsonschema_description:"expected status, default 200"`
	BodyContains string `yaml:"body_contains,omitempty"`
	BodyRegex    string `yaml:"body_regex,omitempty" jsonschema_description:"RE2 regexp the body must match"`
	// ExpectJSON maps gjson paths (github.com/tidwall/gjson syntax, e.g.
	// "status", "items.#", "items.0.name") to the value the JSON body
	// must hold there (compared as text; ${VAR} expanded).
	ExpectJSON map[string]string `yaml:"expect_json,omitempty" jsonschema_description:"gjson path -> expected value, e.g. {status: ok, items.#: 3}; the body must be JSON"`
	// ServedBy requires that the process owning the URL's port is this
	// package-verified program (a stand-in serving a copied page fails).
	ServedBy *Program `yaml:"served_by,omitempty" jsonschema_description:"the program that must own the URL's listening port (package-verified executable, optional user)"`
}

// Program identifies a running program by its content, never its name:
// every process holding the socket must run Exe, and Exe's content must be
// what its Debian package installed there in the sandbox's pristine image
// (sbx-port's verified=yes). A copied, renamed or edited binary, a symlink,
// a faked argv0 and a different program (python3 -m http.server for nginx)
// all fail.
type Program struct {
	Exe     string `yaml:"exe" jsonschema:"required,pattern=^/" jsonschema_description:"absolute path of the packaged executable, e.g. /usr/sbin/nginx (/usr/bin and /bin are the same under usrmerge)"`
	Package string `yaml:"package,omitempty" jsonschema_description:"glob the owning Debian package must match, e.g. nginx*"`
	User    string `yaml:"user,omitempty" jsonschema:"pattern=^[a-z0-9_][a-z0-9_.-]*$" jsonschema_description:"every process holding the socket runs as this user (name looked up in the sandbox's passwd, or a uid; compared by number: a uid-0 alias is root)"`
}

// TCPCheck connects to host:port from the sandbox's network namespace,
// optionally sends bytes and matches what comes back.
type TCPCheck struct {
	Host   string `yaml:"host,omitempty" jsonschema_description:"default localhost; ${VAR} expanded"`
	Port   Port   `yaml:"port" jsonschema:"required"`
	Send   string `yaml:"send,omitempty" jsonschema_description:"bytes sent after connecting (write \\r\\n in a double-quoted YAML string; ${VAR} expanded)"`
	Expect string `yaml:"expect,omitempty" jsonschema_description:"RE2 regexp the bytes read back (banner or answer, at most 64 KiB) must match"`
}

// PortOwnerCheck asserts which program listens on a port.
type PortOwnerCheck struct {
	Port     Port   `yaml:"port" jsonschema:"required"`
	Protocol string `yaml:"protocol,omitempty" jsonschema:"enum=tcp,enum=udp" jsonschema_description:"tcp (default) or udp"`
	Program  `yaml:",inline"`
}

// DockerfileCheck applies the static Dockerfile rules to a file in the sandbox.
type DockerfileCheck struct {
	Path               string `yaml:"path" jsonschema:"required,pattern=^/" jsonschema_description:"the candidate's Dockerfile in the sandbox"`
	dockerfile.Options `yaml:",inline"`
}

// DockerBuildCheck builds the candidate's Dockerfile with limits and,
// optionally, runs the image and probes it.
type DockerBuildCheck struct {
	Context      string    `yaml:"context" jsonschema:"required,pattern=^/" jsonschema_description:"build context directory in the sandbox"`
	Dockerfile   string    `yaml:"dockerfile,omitempty" jsonschema_description:"Dockerfile path relative to the context (default Dockerfile)"`
	Network      bool      `yaml:"network,omitempty" jsonschema_description:"must be false: builds never have network access (kept so that older specs saying false still load)"`
	BuildTimeout Duration  `yaml:"build_timeout,omitempty" jsonschema_description:"default 3m, at most 15m"`
	MaxImageSize Size      `yaml:"max_image_size,omitempty" jsonschema_description:"fail when the image is larger, e.g. 200Mi"`
	Run          *BuildRun `yaml:"run,omitempty" jsonschema_description:"run the built image and probe it"`
}

// BuildRun probes a container of the built image.
type BuildRun struct {
	Port         int      `yaml:"port,omitempty" jsonschema:"minimum=1,maximum=65535" jsonschema_description:"container port to probe over HTTP"`
	HTTPPath     string   `yaml:"http_path,omitempty" jsonschema:"pattern=^/" jsonschema_description:"default /"`
	ExpectStatus int      `yaml:"expect_status,omitempty" jsonschema:"minimum=100,maximum=599" jsonschema_description:"default 200"`
	Command      []string `yaml:"command,omitempty" jsonschema_description:"instead of probing a port, run this in the container; exit 0 = pass"`
	ReadyTimeout Duration `yaml:"ready_timeout,omitempty" jsonschema_description:"how long to wait for the port (default 30s)"`
	ExpectUser   string   `yaml:"expect_user,omitempty" jsonschema_description:"the main process must run as this user (name or uid, compared by uid: a uid-0 alias of root is root; non-root: any uid but 0)"`
	// ExpectBody and ExpectJSON judge the answer of the port probe.
	ExpectBody string            `yaml:"expect_body,omitempty" jsonschema_description:"RE2 regexp the probed answer's body must match"`
	ExpectJSON map[string]string `yaml:"expect_json,omitempty" jsonschema_description:"gjson path -> expected value in the probed answer's JSON body (${VAR} expanded)"`
	// Env and SecretFiles are given to the run only (never to the build):
	// an app that needs a secret starts without it baked into the image.
	Env         map[string]string `yaml:"env,omitempty" jsonschema_description:"environment of the container (${VAR} expanded: a seeded value the app must echo defeats a static stub)"`
	SecretFiles map[string]string `yaml:"secret_files,omitempty" jsonschema_description:"absolute path -> content of files (mode 0444, root) placed in the container before it starts, e.g. /run/secrets/db_password; ${VAR} expanded; shown as [secret] in the feedback"`
	// ExpectExe requires the application built from the context: the
	// main process executes this file of the image, and its content is
	// not a program some Debian package installed (python3 -m http.server,
	// busybox httpd or nginx copied there is a stand-in).
	ExpectExe string `yaml:"expect_exe,omitempty" jsonschema:"pattern=^/" jsonschema_description:"absolute path of the binary the build produces; the container's main process must run it (not a packaged program copied or renamed there)"`
}

// TerraformCheck asserts the .tf files of a directory in the sandbox.
type TerraformCheck struct {
	Dir                  string `yaml:"dir" jsonschema:"required,pattern=^/" jsonschema_description:"configuration directory in the sandbox"`
	terraform.Assertions `yaml:",inline"`
}

// Seed declares per-attempt values.
type Seed struct {
	Vars []SeedVar `yaml:"vars" jsonschema:"required,minItems=1"`
}

// SeedVar kinds.
const (
	SeedPort = "port"
	SeedWord = "word"
	SeedInt  = "int"
)

// SeedVar is one derived value, exported as an environment variable.
type SeedVar struct {
	Name  string   `yaml:"name" jsonschema:"required,pattern=^[A-Z][A-Z0-9_]*$" jsonschema_description:"environment variable name"`
	Kind  string   `yaml:"kind" jsonschema:"required,enum=port,enum=word,enum=int"`
	Min   int      `yaml:"min,omitempty" jsonschema_description:"port/int lower bound (port default 20000, int default 0)"`
	Max   int      `yaml:"max,omitempty" jsonschema_description:"port/int upper bound (port default 29999, int default 100)"`
	Words []string `yaml:"words,omitempty" jsonschema_description:"word choices (default a built-in list)"`
}
