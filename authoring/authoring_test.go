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

	"github.com/opsdojo/opsdojo/challenges"
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
		res, err := s.Upload(context.Background(), "c.tar.gz", tgz(t, sampleFiles(t, prefix)))
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
	res, err := s.Upload(context.Background(), "c.tgz", tgz(t, files))
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
			_, err := s.Upload(context.Background(), tc.file, tc.data)
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
	if err := s.Publish(context.Background(), "web-perms", true); err != nil || !pub.published["web-perms"] {
		t.Fatalf("publish: %v", err)
	}
	if err := s.Publish(context.Background(), "nope", true); err == nil {
		t.Fatal("published an unknown challenge")
	}
}
