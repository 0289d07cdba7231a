package challenges

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (lint output, JSON Schema)")

// TestLintGolden loads every malformed fixture in testdata/bad and compares
// the problems with testdata/bad/<case>/want.golden (go test -update
// rewrites them).
func TestLintGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no bad fixtures: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			_, err := Load(dir)
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("Load(%s) = %v, want problems", dir, err)
			}
			got := []byte(ps.Error() + "\n")
			golden := filepath.Join(dir, "want.golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./challenges -run TestLintGolden -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("problems differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestGoodFixtures(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "good", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no good fixtures: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			c, err := Load(dir)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", dir, err)
			}
			if len(c.Version) != 64 {
				t.Errorf("version %q", c.Version)
			}
		})
	}
}
