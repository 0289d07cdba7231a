package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/authoring"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
	"github.com/opsdojo/opsdojo/ui/browsertest"
)

type memPublisher struct{ published map[string]bool }

func (m *memPublisher) SetPublished(_ context.Context, id string, p bool) error {
	m.published[id] = p
	return nil
}

// authorEnv is a server with authoring on a real catalog (the grader's
// test challenges plus an uploads root) and three logged-in users.
type authorEnv struct {
	srv               *server.Server
	uploads           string
	alice, bob, admin *browser
	pub               *memPublisher
	cat               *challenges.Catalog
}

func newAuthorEnv(t *testing.T) *authorEnv {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	acc := accounts.New(st, accounts.Config{LoginFailures: 100}, slog.New(slog.DiscardHandler), time.Now)
	uploads := filepath.Join(t.TempDir(), "uploads")
	if err := os.MkdirAll(uploads, 0o750); err != nil {
		t.Fatal(err)
	}
	cat := challenges.NewCatalog(challenges.CatalogOptions{Roots: []string{"../grader/testdata", uploads}, Logger: slog.New(slog.DiscardHandler)})
	if err := cat.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub := &memPublisher{published: map[string]bool{}}
	auth := authoring.New(uploads, cat, pub, nil, slog.New(slog.DiscardHandler))
	srv, err := server.New(server.Config{PublicURL: "http://opsdojo.test"}, server.Deps{Database: st,
		Docker: server.PingFunc(func(context.Context) error { return nil }), Accounts: acc, Catalog: cat, Authoring: auth})
	if err != nil {
		t.Fatal(err)
	}
	env := &authorEnv{srv: srv, uploads: uploads, pub: pub, cat: cat}
	login := func(email string, role accounts.Role) *browser {
		if _, err := acc.CreateUser(context.Background(), accounts.NewUser{Email: email, Name: email, Password: "correct horse battery", Role: role}); err != nil {
			t.Fatal(err)
		}
		b := &browser{t: t, srv: srv, cookies: map[string]string{}}
		tok := b.csrf("/login")
		if code, body, _ := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {email}, "password": {"correct horse battery"}}, nil); code != http.StatusSeeOther {
			t.Fatalf("login %s: %d %s", email, code, body)
		}
		return b
	}
	env.alice, env.bob, env.admin = login("alice@example.com", "author"), login("bob@example.com", "author"), login("root@example.com", "admin")
	return env
}

// token is the browser's session CSRF token, read from a page.
func (b *browser) token() string { return b.csrf("/author") }

// upload posts an archive to the JSON upload API.
func (b *browser) upload(name string, data []byte) (int, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("archive", name)
	_, _ = w.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", "/api/v1/author/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", b.token())
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.srv.App().Test(req, 10000)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *browser) post(path string) (int, string) {
	b.t.Helper()
	code, body, _ := b.do("POST", path, url.Values{}, map[string]string{"X-CSRF-Token": b.token()})
	return code, body
}

// challengeTgz is the edit-config test challenge (title changed by
// retitle) as a .tar.gz, followed by extra entries (a name ending in "/"
// is a directory).
func challengeTgz(t *testing.T, retitle string, extra ...string) []byte {
	t.Helper()
	root := "../cmd/opsdojo/testdata/challenges/edit-config"
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "challenge.yaml" && retitle != "" {
			data = bytes.Replace(data, []byte("title: Fix the app config"), []byte("title: "+retitle), 1)
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range extra {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		_ = tw.WriteHeader(h)
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

// TestAuthorCannotTouchAnotherAuthorsUpload: bob (author) gets 403 on
// alice's upload for a re-upload of the same id, publish, unpublish and
// self-test; alice and an admin get through.
func TestAuthorCannotTouchAnotherAuthorsUpload(t *testing.T) {
	t.Parallel()
	env := newAuthorEnv(t)
	if code, body := env.alice.upload("c.tgz", challengeTgz(t, "")); code != http.StatusCreated {
		t.Fatalf("alice's upload: %d %s", code, body)
	}
	if code, body := env.bob.upload("c.tgz", challengeTgz(t, "Bob was here")); code != http.StatusForbidden || !strings.Contains(body, "another author") {
		t.Fatalf("bob's upload over alice's: %d %s, want 403", code, body)
	}
	if _, page, _ := env.alice.do("GET", "/api/v1/author/challenges/edit-config", nil, nil); strings.Contains(page, "Bob was here") {
		t.Fatal("bob's upload replaced alice's challenge")
	}
	for _, p := range []string{"/api/v1/author/challenges/edit-config/publish", "/api/v1/author/challenges/edit-config/unpublish",
		"/api/v1/author/challenges/edit-config/selftest", "/author/challenges/edit-config/publish"} {
		if code, body := env.bob.post(p); code != http.StatusForbidden {
			t.Errorf("bob POST %s: %d %s, want 403", p, code, body)
		}
	}
	if env.pub.published["edit-config"] {
		t.Fatal("bob published alice's upload")
	}
	if code, body := env.alice.post("/api/v1/author/challenges/edit-config/publish"); code != http.StatusOK || !env.pub.published["edit-config"] {
		t.Fatalf("alice publish: %d %s", code, body)
	}
	if code, body := env.admin.post("/api/v1/author/challenges/edit-config/unpublish"); code != http.StatusOK || env.pub.published["edit-config"] {
		t.Fatalf("admin unpublish: %d %s", code, body)
	}
	if code, body := env.alice.upload("c.tgz", challengeTgz(t, "Alice v2")); code != http.StatusCreated {
		t.Fatalf("alice's second upload: %d %s", code, body)
	}
}

// TestUploadFileAndDirectoryConflictIs400: x then x/y used to be a 500.
func TestUploadFileAndDirectoryConflictIs400(t *testing.T) {
	t.Parallel()
	env := newAuthorEnv(t)
	for _, extra := range [][]string{{"x", "x/y"}, {"x/y", "x"}, {"x", "x/"}} {
		code, body := env.alice.upload("c.tgz", challengeTgz(t, "", extra...))
		var msg struct{ Error string }
		_ = json.Unmarshal([]byte(body), &msg)
		if code != http.StatusBadRequest || !strings.Contains(body, `\"`+extra[1]+`\"`) {
			t.Errorf("entries %q: %d %s, want 400 naming %q", extra, code, body, extra[1])
		}
		if strings.Contains(body, os.TempDir()) || strings.Contains(body, "opsdojo-upload-") {
			t.Errorf("entries %q: the message shows a server path: %s", extra, body)
		}
	}
}

// TestAuthorPageShowsNoServerPaths: a broken upload is listed on /author by
// its directory name with problems relative to it.
func TestAuthorPageShowsNoServerPaths(t *testing.T) {
	t.Parallel()
	env := newAuthorEnv(t)
	broken := filepath.Join(env.uploads, "broken-one")
	if err := os.MkdirAll(broken, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "challenge.yaml"), []byte("id: broken-one\nsandbox:\n  setup: missing.sh\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	_ = env.cat.Reload(context.Background())
	code, body, _ := env.alice.do("GET", "/author", nil, nil)
	if code != http.StatusOK || !strings.Contains(body, "broken-one") {
		t.Fatalf("/author: %d, broken upload not listed: %s", code, body)
	}
	if strings.Contains(body, env.uploads) || strings.Contains(body, os.TempDir()) {
		t.Fatalf("/author shows server paths: %s", body)
	}
}

// TestServedPagesHaveNoInlineScript renders real pages (anonymous and
// author) and checks them with the same parser as the template class test.
// (The catalog, workspace, terminal, assignment and review pages are
// checked live by the Chromium tests, which fail on any CSP violation.)
func TestServedPagesHaveNoInlineScript(t *testing.T) {
	t.Parallel()
	env := newAuthorEnv(t)
	if code, body := env.alice.upload("c.tgz", challengeTgz(t, "")); code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, body)
	}
	anon := &browser{t: t, srv: env.srv, cookies: map[string]string{}}
	for _, tc := range []struct {
		b    *browser
		path string
	}{
		{anon, "/"}, {anon, "/login"}, {env.alice, "/"},
		{env.alice, "/author"}, {env.alice, "/author/challenges/edit-config"}, {env.admin, "/author"},
	} {
		code, body, hdr := tc.b.do("GET", tc.path, nil, nil)
		if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", tc.path, code, hdr.Get("Content-Type"))
			continue
		}
		for _, p := range browsertest.InlineScripts(strings.NewReader(body)) {
			t.Errorf("GET %s: %s", tc.path, p)
		}
	}
}
