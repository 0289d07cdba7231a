package recording_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/recording"
)

const testTimeout = 20 * time.Second

// memStore records the metadata calls.
type memStore struct {
	mu   sync.Mutex
	rows map[string]*row
}

type row struct {
	attempt, term, path string
	bytes, events       int64
	err                 string
	ended               bool
}

func newMemStore() *memStore { return &memStore{rows: map[string]*row{}} }

func (m *memStore) StartRecording(_ context.Context, id, attemptID, term, path string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[id] = &row{attempt: attemptID, term: term, path: path}
	return nil
}

func (m *memStore) FinishRecording(_ context.Context, id string, bytes, events int64, errMsg string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rows[id]
	if r == nil {
		return errors.New("no such row")
	}
	r.bytes, r.events, r.err, r.ended = bytes, events, errMsg, true
	return nil
}

func (m *memStore) get(id string) row {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rows[id]; r != nil {
		return *r
	}
	return row{}
}

func finish(t *testing.T, w *recording.Writer) {
	t.Helper()
	w.Close()
	select {
	case <-w.Done():
	case <-time.After(testTimeout):
		t.Fatal("recording did not finish")
	}
}

func readCast(t *testing.T, r *recording.Recorder, rel string) (recording.Header, []recording.Event) {
	t.Helper()
	rc, err := r.Open(rel)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h, evs, err := recording.Parse(rc)
	if err != nil {
		t.Fatal(err)
	}
	return h, evs
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	dir := t.TempDir()
	r := recording.New(recording.Config{Dir: dir, Store: st, IdleFlush: 20 * time.Millisecond})
	w := r.Start("att1", "1", 80, 24)
	// A check mark split across chunks, an invalid byte, control characters,
	// quotes and a pause long enough to start a second gzip member.
	w.Output([]byte("plain \"q\" \\ \x1b[1mbold\x1b[0m\r\n\xe2\x9c"))
	w.Output([]byte("\x93 done \xff\n"))
	w.Input([]byte("ls -l\r"))
	time.Sleep(100 * time.Millisecond)
	w.Resize(120, 40)
	w.Output([]byte("after\u2028pause\t\x00\n"))
	finish(t, w)

	rw := st.get(w.ID())
	if !rw.ended || rw.err != "" || rw.events != 5 || rw.path != "att1/1-1.cast.gz" || rw.bytes == 0 {
		t.Fatalf("row = %+v", rw)
	}
	h, evs := readCast(t, r, rw.path)
	if h.Version != 2 || h.Width != 80 || h.Height != 24 {
		t.Fatalf("header = %+v", h)
	}
	want := "plain \"q\" \\ \x1b[1mbold\x1b[0m\r\n✓ done \ufffd\nafter\u2028pause\t\x00\n"
	if got := recording.Output(evs); got != want {
		t.Fatalf("output = %q, want %q", got, want)
	}
	kinds := ""
	for _, e := range evs {
		kinds += e.Kind
	}
	if kinds != "ooiro" || evs[3].Data != "120x40" || evs[2].Data != "ls -l\r" {
		t.Fatalf("events = %+v", evs)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Time < evs[i-1].Time {
			t.Fatalf("time goes backwards: %+v", evs)
		}
	}
	// The next session of the same terminal gets the next number.
	w2 := r.Start("att1", "1", 80, 24)
	finish(t, w2)
	if p := st.get(w2.ID()).path; p != "att1/1-2.cast.gz" {
		t.Fatalf("second recording at %q", p)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// blockingFile blocks writes until released; fails them when failAfter
// bytes were written (failAfter < 0: never).
type blockingFile struct {
	mu        sync.Mutex
	release   chan struct{}
	written   int
	failAfter int
	f         *os.File
}

func (b *blockingFile) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failAfter >= 0 && b.written+len(p) > b.failAfter {
		return 0, errors.New("no space left on device (simulated)")
	}
	b.written += len(p)
	return b.f.Write(p)
}
func (b *blockingFile) Sync() error                { return b.f.Sync() }
func (b *blockingFile) Stat() (os.FileInfo, error) { return b.f.Stat() }
func (b *blockingFile) Close() error               { return b.f.Close() }

func TestNeverBlocksAndReportsTrouble(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		setup     func(t *testing.T, dir string, r *recording.Recorder) chan struct{}
		wantError string
	}{
		{"queue overflow drops and counts", func(t *testing.T, dir string, r *recording.Recorder) chan struct{} {
			rel := make(chan struct{})
			r.SetOpenFile(func(name string) (recording.File, error) {
				f, err := os.Create(name)
				return &blockingFile{release: rel, failAfter: -1, f: f}, err
			})
			return rel
		}, "dropped: the recorder fell behind"},
		{"disk full", func(t *testing.T, dir string, r *recording.Recorder) chan struct{} {
			rel := make(chan struct{})
			close(rel)
			r.SetOpenFile(func(name string) (recording.File, error) {
				f, err := os.Create(name)
				return &blockingFile{release: rel, failAfter: 100, f: f}, err
			})
			return nil
		}, "no space left on device"},
		{"directory unusable", func(t *testing.T, dir string, r *recording.Recorder) chan struct{} {
			if err := os.WriteFile(filepath.Join(dir, "att1"), []byte("a file, not a dir"), 0o600); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "create recording"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newMemStore()
			dir := t.TempDir()
			r := recording.New(recording.Config{Dir: dir, Store: st, QueueBytes: 8 << 10})
			release := tc.setup(t, dir, r)
			w := r.Start("att1", "1", 80, 24)
			chunk := bytes.Repeat([]byte("x"), 4<<10)
			start := time.Now()
			for range 1000 { // 4 MiB through a 8 KiB queue
				w.Output(chunk)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("1000 Output calls took %v: recording blocked the terminal", d)
			}
			if release != nil {
				close(release)
			}
			finish(t, w)
			rw := st.get(w.ID())
			if !rw.ended || !strings.Contains(rw.err, tc.wantError) {
				t.Fatalf("row = %+v, want error containing %q", rw, tc.wantError)
			}
		})
	}
}

func TestOpenRefusesEscapes(t *testing.T) {
	t.Parallel()
	r := recording.New(recording.Config{Dir: t.TempDir()})
	for _, p := range []string{"../etc/passwd", "/etc/passwd", "", "a/../../b"} {
		if _, err := r.Open(p); !errors.Is(err, recording.ErrBadPath) {
			t.Errorf("Open(%q) = %v, want ErrBadPath", p, err)
		}
	}
	if _, err := r.Open("att/missing.cast.gz"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var _ io.Reader
}
