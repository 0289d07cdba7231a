package challenges

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/analyzers/dockerfile"
	"github.com/opsdojo/opsdojo/analyzers/terraform"
)

// writeScaffold writes a scaffold into a new temp dir and returns it.
func writeScaffold(t *testing.T, kind Kind, id string) string {
	t.Helper()
	files, err := Scaffold(kind, id, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), id)
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if ScaffoldExecutable(name) {
			mode = 0o755
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScaffoldsLoad(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			dir := writeScaffold(t, kind, "my-"+string(kind))
			c, err := Load(dir)
			if err != nil {
				t.Fatalf("scaffold does not load:\n%v", err)
			}
			if c.ID != "my-"+string(kind) || c.Kind != kind || c.TotalPoints() != 100 {
				t.Errorf("loaded %s %s with %d points", c.ID, c.Kind, c.TotalPoints())
			}
		})
	}
	if _, err := Scaffold("nope", "abc", ""); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := Scaffold(KindTerraform, "Bad Name", ""); err == nil {
		t.Error("bad id accepted")
	}
}

var heredocRe = regexp.MustCompile(`(?s)cat > (\S+) <<'EOF'\n(.*?)\nEOF\n`)

// heredocFiles extracts the files a solution script writes with
// cat > FILE <<'EOF' … EOF, keyed by base name.
func heredocFiles(script []byte) map[string][]byte {
	out := map[string][]byte{}
	for _, m := range heredocRe.FindAllSubmatch(script, -1) {
		out[filepath.Base(string(m[1]))] = append(m[2], '\n')
	}
	return out
}

// TestScaffoldStaticSelfTest runs the static checks of the dockerfile and
// terraform scaffolds the way `challenge test` would: the starter must
// fail, the solution must pass, each wrong fix must fail at least one check.
func TestScaffoldStaticSelfTest(t *testing.T) {
	t.Parallel()
	score := func(t *testing.T, c *Challenge, files map[string][]byte) (passed, total int) {
		t.Helper()
		for _, ch := range c.Checks {
			switch {
			case ch.Dockerfile != nil:
				total += ch.Points
				rep, err := dockerfile.Check("Dockerfile", files[filepath.Base(ch.Dockerfile.Path)], ch.Dockerfile.Options)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() {
					passed += ch.Points
				}
			case ch.Terraform != nil:
				total += ch.Points
				rep, err := terraform.Check(files, ch.Terraform.Assertions)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() {
					passed += ch.Points
				} else {
					t.Logf("%s: %v", ch.ID, rep.Findings)
				}
			}
		}
		return passed, total
	}
	for _, kind := range []Kind{KindDockerfile, KindTerraform} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			c, err := Load(writeScaffold(t, kind, "self-"+string(kind)))
			if err != nil {
				t.Fatal(err)
			}
			starters := map[string][]byte{}
			for _, f := range c.StarterFiles() {
				starters[filepath.Base(f.Path)] = f.Content
			}
			if p, total := score(t, c, starters); p == total || total == 0 {
				t.Errorf("starter scores %d/%d, want less than full marks", p, total)
			}
			sol := starters
			for k, v := range heredocFiles(c.SolutionScript()) {
				sol[k] = v
			}
			if p, total := score(t, c, sol); p != total {
				t.Errorf("solution scores %d/%d, want full marks", p, total)
			}
			for _, w := range c.WrongFixScripts() {
				files := map[string][]byte{}
				for _, f := range c.StarterFiles() {
					files[filepath.Base(f.Path)] = f.Content
				}
				for k, v := range heredocFiles(w.Content) {
					files[k] = v
				}
				if p, total := score(t, c, files); p == total {
					t.Errorf("wrong fix %s scores full marks %d/%d", w.Path, p, total)
				}
			}
			if !strings.Contains(string(c.Raw), "yaml-language-server: $schema=") {
				t.Error("scaffold lacks the schema comment")
			}
		})
	}
}
