package challenges

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func copyScaffold(t *testing.T, root string, kind Kind, id string) string {
	t.Helper()
	src := writeScaffold(t, kind, id)
	dst := filepath.Join(root, id)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestCatalogReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	tdir := copyScaffold(t, root, KindTroubleshoot, "cat-trouble")
	copyScaffold(t, root, KindTerraform, "cat-terraform")
	cat := NewCatalog(CatalogOptions{Roots: []string{root}})
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(cat.List(Filter{})); got != 2 {
		t.Fatalf("List = %d challenges, want 2 (problems %v)", got, cat.Problems())
	}
	for _, tc := range []struct {
		f    Filter
		want int
	}{
		{Filter{Kind: KindTerraform}, 1},
		{Filter{Difficulty: Easy}, 1},
		{Filter{Tag: "linux"}, 1},
		{Filter{Tag: "nope"}, 0},
		{Filter{Kind: KindDockerfile}, 0},
	} {
		if got := len(cat.List(tc.f)); got != tc.want {
			t.Errorf("List(%+v) = %d, want %d", tc.f, got, tc.want)
		}
	}
	good, ok := cat.Get("cat-trouble")
	if !ok {
		t.Fatal("Get(cat-trouble) missing")
	}

	// A bad edit: the last good version keeps serving, the problem is reported.
	spec := filepath.Join(tdir, SpecFile)
	raw, _ := os.ReadFile(spec)
	if err := os.WriteFile(spec, append(raw, []byte("bogus_field: 1\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := cat.Get("cat-trouble"); got != good {
		t.Error("bad edit replaced the last good version")
	}
	ps := cat.Problems()[tdir]
	if len(ps) != 1 || ps[0].Line == 0 {
		t.Fatalf("Problems = %v", cat.Problems())
	}

	// A good edit: new version, problems cleared.
	if err := os.WriteFile(spec, append(raw, []byte("\n# edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	now, _ := cat.Get("cat-trouble")
	if now == good || now.Version == good.Version {
		t.Error("good edit not picked up")
	}
	if len(cat.Problems()) != 0 {
		t.Errorf("problems not cleared: %v", cat.Problems())
	}

	// A second directory with the same id is a problem; the first keeps it.
	dup := copyScaffold(t, root, KindDockerfile, "zz-dup")
	s2, _ := os.ReadFile(filepath.Join(dup, SpecFile))
	s2 = []byte(replaceOnce(string(s2), "id: zz-dup", "id: cat-trouble"))
	_ = os.WriteFile(filepath.Join(dup, SpecFile), s2, 0o644)
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := cat.Get("cat-trouble"); got.Kind != KindTroubleshoot {
		t.Error("duplicate id took over")
	}
	if len(cat.Problems()[dup]) != 1 {
		t.Errorf("duplicate id not reported: %v", cat.Problems())
	}

	// Removal.
	if err := os.RemoveAll(dup); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(tdir); err != nil {
		t.Fatal(err)
	}
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Get("cat-trouble"); ok || len(cat.Problems()) != 0 {
		t.Errorf("removed challenge still listed (problems %v)", cat.Problems())
	}
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

// TestCatalogRunConcurrent polls while readers read (run with -race).
func TestCatalogRunConcurrent(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dir := copyScaffold(t, root, KindDockerfile, "run-docker")
	changed := make(chan string, 16)
	cat := NewCatalog(CatalogOptions{Roots: []string{root}, Interval: 10 * time.Millisecond,
		OnChange: func(_ context.Context, c *Challenge) { changed <- c.Version }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cat.Run(ctx) }()
	first := <-changed
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					cat.List(Filter{Kind: KindDockerfile})
					cat.Get("run-docker")
					cat.Problems()
				}
			}
		}()
	}
	spec := filepath.Join(dir, SpecFile)
	raw, _ := os.ReadFile(spec)
	if err := os.WriteFile(spec, append(raw, []byte("# touched\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-changed:
		if v == first {
			t.Error("OnChange with the same version")
		}
	case <-ctx.Done():
		t.Fatal("edit not picked up by Run")
	}
	close(stop)
	wg.Wait()
	cancel()
	if err := <-done; err != context.Canceled && err != context.DeadlineExceeded {
		t.Errorf("Run = %v", err)
	}
}
