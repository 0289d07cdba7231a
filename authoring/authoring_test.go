package authoring

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
)

var (
	alice = Actor{UserID: "alice-id"}
	bob   = Actor{UserID: "bob-id"}
	admin = Actor{UserID: "admin-id", Admin: true}
)

type fakePublisher struct{ published map[string]bool }

func (f *fakePublisher) SetPublished(_ context.Context, id string, p bool) error {
	f.published[id] = p
	return nil
}

func tgz(t *testing.T, files map[string]string, extra ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte(body))
	}
	for _, h := range extra {
		_ = tw.WriteHeader(h)
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

func sampleFiles(t *testing.T, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := "../cmd/opsdojo/testdata/challenges/edit-config"
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, _ := os.ReadFile(p)
		out[prefix+filepath.ToSlash(rel)] = string(data)
		return nil
	})
	return out
}

func newService(t *testing.T) (*Service, *challenges.Catalog, *fakePublisher) {
	t.Helper()
	uploads := filepath.Join(t.TempDir(), "uploads")
	cat := challenges.NewCatalog(challenges.CatalogOptions{Roots: []string{"../grader/testdata", uploads}, Logger: slog.New(slog.DiscardHandler)})
	_ = cat.Reload(context.Background())
	pub := &fakePublisher{published: map[string]bool{}}
	return New(uploads, cat, pub, nil, slog.New(slog.DiscardHandler)), cat, pub
}

func TestUploadInstallsACleanChallenge(t *testing.T) {
	t.Parallel()
	s, cat, _ := newService(t)
	for _, prefix := range []string{"", "edit-config/"} {
		res, err := s.Upload(context.Background(), alice, "c.tar.gz", tgz(t, sampleFiles(t, prefix)))
		if err != nil || len(res.Problems) > 0 || res.ID != "edit-config" {
			t.Fatalf("prefix %q: %+v %v", prefix, res, err)
		}
		if _, ok := cat.Get("edit-config"); !ok {
			t.Fatal("catalog does not serve the upload")
		}
	}
}

func TestUploadReportsLintProblemsWithLines(t *testing.T) {
	t.Parallel()
	s, cat, _ := newService(t)
	files := sampleFiles(t, "")
	files["challenge.yaml"] = strings.Replace(files["challenge.yaml"], "points: 50", "points: 0", 1)
	res, err := s.Upload(context.Background(), alice, "c.tgz", tgz(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) == 0 || !strings.HasPrefix(res.Problems[0].String(), "challenge.yaml:") || res.Problems[0].Line == 0 {
		t.Fatalf("problems %v", res.Problems)
	}
	if _, ok := cat.Get("edit-config"); ok {
		t.Fatal("a challenge with problems was installed")
	}
}

func TestUploadRefusesBadArchives(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("../../etc/evil")
	_, _ = w.Write([]byte("x"))
	_ = zw.Close()
	web := sampleFiles(t, "")
	web["challenge.yaml"] = strings.Replace(web["challenge.yaml"], "id: edit-config", "id: web-perms", 1)
	cases := []struct {
		name string
		file string
		data []byte
		want error
		msg  string
	}{
		{"not gzip", "c.tar.gz", []byte("hello"), ErrBadArchive, "not gzip"},
		{"wrong extension", "c.rar", []byte("x"), ErrBadArchive, ".tar.gz"},
		{"zip slip", "c.zip", zbuf.Bytes(), ErrBadArchive, "leaves the archive"},
		{"tar symlink", "c.tgz", tgz(t, sampleFiles(t, ""), &tar.Header{Name: "link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}), ErrBadArchive, "link or special file"},
		{"absolute path", "c.tgz", tgz(t, map[string]string{"/etc/x": "1"}), ErrBadArchive, "leaves the archive"},
		{"no challenge.yaml", "c.tgz", tgz(t, map[string]string{"README": "1"}), ErrBadArchive, "no challenge.yaml"},
		{"shipped id", "c.tgz", tgz(t, web), ErrIDTaken, "shipped challenge"},
		{"too large", "c.tgz", make([]byte, MaxUploadBytes+1), ErrBadArchive, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Upload(context.Background(), alice, tc.file, tc.data)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	if _, err := os.Stat("/etc/evil"); err == nil {
		t.Fatal("zip slip wrote outside")
	}
}

func TestPublish(t *testing.T) {
	t.Parallel()
	s, _, pub := newService(t)
	if err := s.Publish(context.Background(), alice, "web-perms", true); err != nil || !pub.published["web-perms"] {
		t.Fatalf("publish: %v", err)
	}
	if err := s.Publish(context.Background(), alice, "nope", true); err == nil {
		t.Fatal("published an unknown challenge")
	}
}

// zipOf builds a zip with the entries in order (a name ending in "/" is a
// directory).
func zipOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(n, "/") {
			_, _ = w.Write([]byte("data"))
		}
	}
	_ = zw.Close()
	return buf.Bytes()
}

// tarOf builds a .tar.gz with the entries in order (a name ending in "/"
// is a directory).
func tarOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var hdrs []*tar.Header
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			hdrs = append(hdrs, &tar.Header{Name: n, Mode: 0o755, Typeflag: tar.TypeDir})
		} else {
			hdrs = append(hdrs, &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg})
		}
	}
	return tgz(t, nil, hdrs...)
}

// TestUploadPathUsedAsFileAndDirectory: an archive that uses one path as a
// file and as a directory (in either order) is a bad archive (HTTP 400)
// naming the entry, not an internal error.
func TestUploadPathUsedAsFileAndDirectory(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t)
	for _, tc := range []struct {
		name, file string
		data       []byte
		entry      string
	}{
		{"tar file then inside it", "c.tgz", tarOf(t, "x", "x/y"), `"x/y"`},
		{"tar file then dir", "c.tgz", tarOf(t, "x", "x/"), `"x/"`},
		{"tar inside then file", "c.tgz", tarOf(t, "x/y", "x"), `"x"`},
		{"tar dir then file", "c.tgz", tarOf(t, "a/", "a/b/", "a/b"), `"a/b"`},
		{"tar deep", "c.tgz", tarOf(t, "a/b", "a/b/c/d"), `"a/b/c/d"`},
		{"tar same file twice", "c.tgz", tarOf(t, "a", "a"), `"a"`},
		{"zip file then inside it", "c.zip", zipOf(t, "x", "x/y"), `"x/y"`},
		{"zip inside then file", "c.zip", zipOf(t, "x/y", "x"), `"x"`},
		{"zip file then dir", "c.zip", zipOf(t, "x", "x/"), `"x/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Upload(context.Background(), alice, tc.file, tc.data)
			if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), tc.entry) {
				t.Fatalf("err %v, want %v naming entry %s", err, ErrBadArchive, tc.entry)
			}
			if strings.Contains(err.Error(), os.TempDir()) || strings.Contains(err.Error(), "opsdojo-upload-") {
				t.Fatalf("the message shows a server path: %v", err)
			}
		})
	}
}

// serverPath reports whether msg shows a path of the server's file system
// (its temp dir, the uploads root, or an absolute path under either).
func serverPath(msg string, roots ...string) bool {
	for _, r := range append(roots, os.TempDir()) {
		if r != "" && strings.Contains(msg, r) {
			return true
		}
	}
	return strings.Contains(msg, "opsdojo-upload-")
}

// TestUploadMessagesShowNoServerPaths is the class test of "messages show
// server temp paths": every error and lint problem an upload returns names
// paths relative to the archive, whatever produced it.
func TestUploadMessagesShowNoServerPaths(t *testing.T) {
	t.Parallel()
	s, _, _ := newService(t)
	web := sampleFiles(t, "")
	web["challenge.yaml"] = strings.Replace(web["challenge.yaml"], "id: edit-config", "id: web-perms", 1)
	missing := sampleFiles(t, "top/")
	delete(missing, "top/setup.sh")
	asDir := sampleFiles(t, "")
	delete(asDir, "starter/app.conf")
	asDir["starter/app.conf/x"] = "1"
	badYAML := sampleFiles(t, "")
	badYAML["challenge.yaml"] = "id: [\n"
	var msgs []string
	for _, data := range [][]byte{
		tarOf(t, "x/y", "x"), tarOf(t, "x", "x/y"), zipOf(t, "x/y", "x"),
		tgz(t, web), tgz(t, missing), tgz(t, asDir), tgz(t, badYAML),
		tgz(t, map[string]string{"README": "1"}),
	} {
		res, err := s.Upload(context.Background(), alice, "c.tgz", data)
		if err != nil {
			msgs = append(msgs, err.Error())
		}
		for _, p := range res.Problems {
			msgs = append(msgs, p.String())
		}
	}
	if len(msgs) < 8 {
		t.Fatalf("want a message per bad upload, got %q", msgs)
	}
	for _, m := range msgs {
		if serverPath(m, s.uploadsAbs()) {
			t.Errorf("message shows a server path: %q", m)
		}
	}
}

// TestRelativePaths: the helper that turns server paths into paths
// relative to a challenge root.
func TestRelativePaths(t *testing.T) {
	t.Parallel()
	root := filepath.Join(os.TempDir(), "opsdojo-upload-123", "top")
	for in, want := range map[string]string{
		"open " + root + "/checks/a.sh: permission denied": "open checks/a.sh: permission denied",
		"stat " + root + ": no such file":                  "stat .: no such file",
		root + "/x and " + root + "/y":                     "x and y",
		"mkdir " + root + "x/y: fine":                      "mkdir " + root + "x/y: fine", // another directory, not under root
		"nothing to do":                                    "nothing to do",
	} {
		if got := RelativePaths(in, root); got != want {
			t.Errorf("RelativePaths(%q) = %q, want %q", in, got, want)
		}
	}
}

type fakeTester struct{ err string }

func (f fakeTester) Test(_ context.Context, ch *challenges.Challenge, runs int) grader.SelfTestReport {
	return grader.SelfTestReport{Challenge: ch.ID, Runs: runs, Scenarios: []grader.Scenario{{Name: "solution", WantFull: true, Err: f.err}}}
}

// TestSelfTestReportShowsNoServerPaths: the self-test report an author
// reads names files relative to the challenge, not where the server keeps
// it.
func TestSelfTestReportShowsNoServerPaths(t *testing.T) {
	t.Parallel()
	s, cat, _ := newService(t)
	if _, err := s.Upload(context.Background(), alice, "c.tgz", tgz(t, sampleFiles(t, ""))); err != nil {
		t.Fatal(err)
	}
	ch, _ := cat.Get("edit-config")
	s.tester = fakeTester{err: "copy " + filepath.Join(ch.Dir, "setup.sh") + " into the sandbox: stat " + ch.Dir + ": gone"}
	if err := s.StartSelfTest(context.Background(), alice, "edit-config", 1); err != nil {
		t.Fatal(err)
	}
	var st *TestState
	for i := 0; i < 500; i++ { // bounded: the fake tester returns at once
		if st = s.TestStateOf("edit-config"); st != nil && !st.Running {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st == nil || st.Running {
		t.Fatal("self-test did not finish")
	}
	if serverPath(st.Text, ch.Dir, s.uploadsAbs()) || !strings.Contains(st.Text, "copy setup.sh into the sandbox: stat .: gone") {
		t.Fatalf("report shows a server path: %q", st.Text)
	}
	for _, sc := range st.Report.Scenarios {
		if serverPath(sc.Err, ch.Dir, s.uploadsAbs()) {
			t.Fatalf("report scenario shows a server path: %q", sc.Err)
		}
	}
}

// TestOwnership: an upload belongs to the author who first uploaded its id.
// Another author can neither overwrite it, publish, unpublish nor self-test
// it (ErrNotOwner, HTTP 403); its owner and admins can. Shipped challenges
// have no owner.
func TestOwnership(t *testing.T) {
	t.Parallel()
	s, cat, pub := newService(t)
	s.tester = fakeTester{}
	ctx := context.Background()
	files := sampleFiles(t, "")
	if res, err := s.Upload(ctx, alice, "c.tgz", tgz(t, files)); err != nil || len(res.Problems) > 0 {
		t.Fatalf("alice's upload: %+v %v", res, err)
	}
	before, _ := cat.Get("edit-config")
	changed := sampleFiles(t, "")
	changed["challenge.yaml"] = strings.Replace(changed["challenge.yaml"], "Fix the app config", "Bob was here", 1)

	if _, err := s.Upload(ctx, bob, "c.tgz", tgz(t, changed)); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("bob overwrote alice's upload: %v", err)
	}
	if now, _ := cat.Get("edit-config"); now.Version != before.Version {
		t.Fatal("bob's upload replaced alice's challenge")
	}
	if err := s.Publish(ctx, bob, "edit-config", true); !errors.Is(err, ErrNotOwner) || pub.published["edit-config"] {
		t.Fatalf("bob published alice's upload: %v", err)
	}
	if err := s.Publish(ctx, alice, "edit-config", true); err != nil || !pub.published["edit-config"] {
		t.Fatalf("alice cannot publish her upload: %v", err)
	}
	if err := s.Publish(ctx, bob, "edit-config", false); !errors.Is(err, ErrNotOwner) || !pub.published["edit-config"] {
		t.Fatalf("bob unpublished alice's upload: %v", err)
	}
	if err := s.StartSelfTest(ctx, bob, "edit-config", 1); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("bob self-tested alice's upload: %v", err)
	}
	if owner, _ := s.OwnerOf("edit-config"); owner != alice.UserID {
		t.Fatalf("owner %q, want %q", owner, alice.UserID)
	}
	// Alice updates her own upload; an admin may act on anyone's.
	if res, err := s.Upload(ctx, alice, "c.tgz", tgz(t, changed)); err != nil || len(res.Problems) > 0 {
		t.Fatalf("alice cannot update her upload: %+v %v", res, err)
	}
	if err := s.Publish(ctx, admin, "edit-config", false); err != nil || pub.published["edit-config"] {
		t.Fatalf("admin cannot unpublish: %v", err)
	}
	if _, err := s.Upload(ctx, admin, "c.tgz", tgz(t, files)); err != nil {
		t.Fatalf("admin cannot re-upload: %v", err)
	}
	if owner, _ := s.OwnerOf("edit-config"); owner != alice.UserID {
		t.Fatalf("an admin's re-upload changed the owner to %q", owner)
	}
	// Shipped challenges (outside the uploads root) have no owner.
	if err := s.Publish(ctx, bob, "web-perms", true); err != nil {
		t.Fatalf("bob cannot publish a shipped challenge: %v", err)
	}
	// An upload from before owners were recorded: only an admin may act.
	legacy := filepath.Join(s.uploads, "legacy-one")
	if err := os.MkdirAll(legacy, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, bob, "legacy-one", false); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("an author unpublished an upload without a recorded owner: %v", err)
	}
	if err := s.Publish(ctx, admin, "legacy-one", false); err != nil {
		t.Fatalf("admin: %v", err)
	}
	// The owner record is outside every challenge directory: an archive
	// cannot carry one.
	sneaky := sampleFiles(t, "")
	sneaky["challenge.yaml"] = strings.Replace(sneaky["challenge.yaml"], "id: edit-config", "id: sneaky-one", 1)
	sneaky[".owners/edit-config"] = bob.UserID
	if _, err := s.Upload(ctx, bob, "c.tgz", tgz(t, sneaky)); err != nil {
		t.Fatal(err)
	}
	if owner, _ := s.OwnerOf("edit-config"); owner != alice.UserID {
		t.Fatalf("an archive rewrote the owner record: %q", owner)
	}
}

// Uploads are validated with the catalog's rules: an image the operator
// allows (--allowed-images) is accepted, docker:dind never is.
func TestUploadUsesTheOperatorsImageRules(t *testing.T) {
	t.Parallel()
	uploads := filepath.Join(t.TempDir(), "uploads")
	cat := challenges.NewCatalog(challenges.CatalogOptions{Roots: []string{uploads}, Logger: slog.New(slog.DiscardHandler),
		Load: challenges.LoadOptions{AllowedImages: []string{"acme/lab:*"}}})
	s := New(uploads, cat, &fakePublisher{published: map[string]bool{}}, nil, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		image string
		ok    bool
	}{{"acme/lab:1", true}, {"docker:dind", false}} {
		files := sampleFiles(t, "")
		y := files["challenge.yaml"]
		i := strings.Index(y, "image: ")
		if i < 0 {
			t.Fatal("sample has no sandbox image")
		}
		j := strings.IndexByte(y[i:], '\n')
		files["challenge.yaml"] = y[:i] + "image: " + tc.image + y[i+j:]
		res, err := s.Upload(context.Background(), alice, "c.tgz", tgz(t, files))
		if err != nil {
			t.Fatalf("%s: %v", tc.image, err)
		}
		if got := len(res.Problems) == 0; got != tc.ok {
			t.Fatalf("image %s: problems %v, want accepted=%v", tc.image, res.Problems, tc.ok)
		}
		if !tc.ok && !strings.Contains(res.Problems[0].String(), "sandbox.image") {
			t.Fatalf("image %s: the problem does not name the field: %v", tc.image, res.Problems)
		}
	}
}
