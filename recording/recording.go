// Package recording writes terminal sessions as asciicast v2
// (https://docs.asciinema.org/manual/asciicast/v2/), gzip-compressed, under
// <dir>/<attempt>/<term>-<n>.cast.gz, and reads them back for replay.
//
// Recording never blocks the terminal: every Writer method copies its data
// into a queue bounded in bytes and returns; one goroutine per recording
// encodes and compresses. When the queue is full the event is dropped and
// counted; when storage fails the session goes on, the failure is logged
// and written to the recording's row (Error) for reviewers.
//
// Memory: an idle recording holds no compressor. Each burst of events is
// written as one gzip member (RFC 1952 allows a file of several members;
// Go's gzip.Reader and zcat read them as one stream); after IdleFlush
// without events the member is finished and the compressor goes back to a
// pool.
package recording

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults.
const (
	// DefaultQueueBytes bounds what one recording may hold in memory
	// waiting to be written; DefaultTotalQueueBytes bounds all of them
	// together. An idle recording holds nothing.
	DefaultQueueBytes      = 4 << 20
	DefaultTotalQueueBytes = 64 << 20
	// DefaultIdleFlush is how long a recording waits without events
	// before finishing its gzip member and freeing its compressor.
	DefaultIdleFlush = 2 * time.Second
	// batchDelay is how long the recording goroutine lets events gather
	// after a wake-up before encoding them: an interactive keystroke then
	// costs one wake-up of the recorder per batch, not two per key, and
	// the encoding runs off the echo's critical path.
	batchDelay = 20 * time.Millisecond
	// storeTimeout bounds each metadata call.
	storeTimeout = 10 * time.Second
	// maxSeq bounds the search for a free <term>-<n> file name.
	maxSeq   = 10000
	fileMode = 0o640
	dirMode  = 0o750
	// Ext is the file extension of recordings.
	Ext = ".cast.gz"
)

// ErrBadPath is returned for a stored path that leaves the recordings
// directory.
var ErrBadPath = errors.New("recording path outside the recordings directory")

// safeName is what attempt IDs and terminal names must look like to be
// used in a path.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// Store keeps recording metadata (implemented by *store.Store).
type Store interface {
	StartRecording(ctx context.Context, id, attemptID, term, path string, started time.Time) error
	FinishRecording(ctx context.Context, id string, bytes, events int64, errMsg string, ended time.Time) error
}

// Config of a Recorder.
type Config struct {
	Dir             string // where recordings go (<data>/recordings)
	Store           Store  // nil: files only
	Log             *slog.Logger
	QueueBytes      int
	TotalQueueBytes int64
	IdleFlush       time.Duration
	Now             func() time.Time
}

// file is what a recording writes to (*os.File; tests inject failures).
type file interface {
	io.Writer
	Sync() error
	Stat() (fs.FileInfo, error)
	Close() error
}

// Recorder starts recordings. Safe for concurrent use.
type Recorder struct {
	cfg      Config
	openFile func(name string) (file, error)
	log      *slog.Logger
	wg       sync.WaitGroup
	gzPool   sync.Pool
	live     atomic.Int64
	queued   atomic.Int64 // bytes queued in all recordings
	active   atomic.Int64 // recordings holding a compressor (mid-burst)
	// dropped events and bytes, all recordings, since start (Dropped).
	droppedEvents, droppedBytes atomic.Int64
}

// New returns a Recorder writing under cfg.Dir.
func New(cfg Config) *Recorder {
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.TotalQueueBytes <= 0 {
		cfg.TotalQueueBytes = DefaultTotalQueueBytes
	}
	if cfg.IdleFlush <= 0 {
		cfg.IdleFlush = DefaultIdleFlush
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{cfg: cfg, log: cfg.Log.With("component", "recording"), openFile: createExclusive}
}

func createExclusive(name string) (file, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
}

// Live is how many recordings are open.
func (r *Recorder) Live() int64 { return r.live.Load() }

// Compressing is how many recordings hold a compressor right now (they
// are in a burst of output; an idle recording holds none).
func (r *Recorder) Compressing() int64 { return r.active.Load() }

// Close waits, bounded by ctx, for every recording that was closed to be
// written out. Recordings still open are not closed here: end their
// sessions first (terminal.Hub.Shutdown).
func (r *Recorder) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("recorder close: %d recordings unfinished: %w", r.live.Load(), ctx.Err())
	}
}

// Event kinds of asciicast v2.
const (
	kindOutput = 'o'
	kindInput  = 'i'
	kindResize = 'r'
)

type event struct {
	at    time.Duration
	kind  byte
	data  []byte
	final bool // flush a carried partial UTF-8 sequence as is
}

// Writer is one recording. Its methods never block.
type Writer struct {
	r         *Recorder
	id        string
	attemptID string
	term      string
	cols      int
	rows      int
	started   time.Time

	mu      sync.Mutex
	q       []event
	qBytes  int
	closed  bool
	wake    chan struct{}
	dropped int64 // events
	dropB   int64 // bytes
	done    chan struct{}
}

// Start begins recording terminal term of attemptID at the given size. It
// returns at once; the file and the row are created by the recording's
// goroutine.
func (r *Recorder) Start(attemptID, term string, cols, rows int) *Writer {
	w := &Writer{
		r: r, id: newID(), attemptID: attemptID, term: term, cols: cols, rows: rows,
		started: r.cfg.Now(), wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	r.live.Add(1)
	r.wg.Add(1)
	go w.run()
	return w
}

// ID is the recording's row ID.
func (w *Writer) ID() string { return w.id }

// Done is closed when the recording is fully written and its row updated.
func (w *Writer) Done() <-chan struct{} { return w.done }

// Output records what the terminal printed.
func (w *Writer) Output(p []byte) { w.add(kindOutput, p) }

// Input records what the user typed.
func (w *Writer) Input(p []byte) { w.add(kindInput, p) }

// Resize records a terminal size change.
func (w *Writer) Resize(cols, rows int) {
	w.add(kindResize, []byte(strconv.Itoa(cols)+"x"+strconv.Itoa(rows)))
}

func (w *Writer) add(kind byte, p []byte) {
	if len(p) == 0 {
		return
	}
	at := time.Since(w.started)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if w.qBytes+len(p) > w.r.cfg.QueueBytes || w.r.queued.Load()+int64(len(p)) > w.r.cfg.TotalQueueBytes {
		w.dropped++
		w.dropB += int64(len(p))
		w.r.droppedEvents.Add(1)
		w.r.droppedBytes.Add(int64(len(p)))
		return
	}
	w.r.queued.Add(int64(len(p)))
	w.q = append(w.q, event{at: at, kind: kind, data: append([]byte(nil), p...)})
	half := w.r.cfg.QueueBytes / 2
	crossed := w.qBytes < half && w.qBytes+len(p) >= half
	w.qBytes += len(p)
	// Wake the recorder only when it has something new to decide: the
	// first event of a batch, or the queue reaching half (flush early).
	if len(w.q) == 1 || crossed {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Close ends the recording; what is queued is still written.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
}

// gather waits up to batchDelay for more events, unless the queue is half
// full or the recording closed.
func (w *Writer) gather() {
	t := time.NewTimer(batchDelay)
	defer t.Stop()
	for {
		w.mu.Lock()
		busy := w.closed || w.qBytes >= w.r.cfg.QueueBytes/2
		w.mu.Unlock()
		if busy {
			return
		}
		select {
		case <-t.C:
			return
		case <-w.wake:
		}
	}
}

// take returns the queued events (and whether the writer is closed).
func (w *Writer) take(buf []event) ([]event, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	buf = append(buf[:0], w.q...)
	clear(w.q)
	if cap(w.q) > 256 {
		w.q = nil
	} else {
		w.q = w.q[:0]
	}
	w.r.queued.Add(-int64(w.qBytes))
	w.qBytes = 0
	return buf, w.closed
}

// sink is the file side of a recording, owned by run.
type sink struct {
	f      file
	bw     *bufio.Writer
	gz     *gzip.Writer
	err    error // first storage error; afterwards events are discarded
	events int64
	line   []byte
	utf8   []byte // incomplete UTF-8 sequence carried to the next output
}

func (w *Writer) run() {
	defer w.r.wg.Done()
	defer w.r.live.Add(-1)
	defer close(w.done)
	log := w.r.log.With("attempt", w.attemptID, "term", w.term, "recording", w.id)
	s := &sink{}
	rel, err := w.create(s)
	if err != nil {
		s.err = err
		log.Error("recording unavailable; the terminal goes on unrecorded", "err", err)
	}
	// The row exists even when the file could not be made, so reviewers
	// see that this terminal was not recorded, and why.
	if w.r.cfg.Store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if err := w.r.cfg.Store.StartRecording(ctx, w.id, w.attemptID, w.term, rel, w.started); err != nil {
			log.Error("recording metadata not stored", "err", err)
		}
		cancel()
	}
	if s.err == nil {
		w.header(s)
	}
	idle := time.NewTimer(w.r.cfg.IdleFlush)
	defer idle.Stop()
	var batch []event
	for {
		select {
		case <-w.wake:
		case <-idle.C:
			w.endMember(s, log)
			continue
		}
		w.gather()
		var closed bool
		batch, closed = w.take(batch)
		for i := range batch {
			w.write(s, batch[i], log)
			batch[i].data = nil
		}
		if closed {
			break
		}
		idle.Reset(w.r.cfg.IdleFlush)
	}
	w.finish(s, rel, log)
}

// create opens <dir>/<attempt>/<term>-<n>.cast.gz with the first free n.
func (w *Writer) create(s *sink) (string, error) {
	if !safeName.MatchString(w.attemptID) || !safeName.MatchString(w.term) {
		return "", fmt.Errorf("create recording: unsafe attempt or terminal name %q/%q", w.attemptID, w.term)
	}
	dir := filepath.Join(w.r.cfg.Dir, w.attemptID)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", fmt.Errorf("create recording: %w", err)
	}
	for n := 1; n <= maxSeq; n++ {
		name := fmt.Sprintf("%s-%d%s", w.term, n, Ext)
		f, err := w.r.openFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create recording: %w", err)
		}
		s.f = f
		s.bw = bufio.NewWriterSize(f, 4<<10)
		return filepath.ToSlash(filepath.Join(w.attemptID, name)), nil
	}
	return "", fmt.Errorf("create recording: more than %d recordings of terminal %s", maxSeq, w.term)
}

func (w *Writer) header(s *sink) {
	h := fmt.Sprintf(`{"version":2,"width":%d,"height":%d,"timestamp":%d,"env":{"TERM":"xterm-256color"},"title":%s}`+"\n",
		w.cols, w.rows, w.started.Unix(), strconv.Quote("attempt "+w.attemptID+" terminal "+w.term))
	s.line = append(s.line[:0], h...)
	w.put(s, nil)
}

// write encodes one event as an asciicast line.
func (w *Writer) write(s *sink, ev event, log *slog.Logger) {
	if s.err != nil {
		return
	}
	data := ev.data
	if ev.kind == kindOutput {
		if len(s.utf8) > 0 {
			data = append(s.utf8, data...)
			s.utf8 = nil
		}
		if k := incompleteTail(data); k > 0 && !ev.final {
			s.utf8 = append([]byte(nil), data[len(data)-k:]...)
			data = data[:len(data)-k]
		}
		if len(data) == 0 {
			return
		}
	}
	b := s.line[:0]
	b = append(b, '[')
	b = strconv.AppendFloat(b, ev.at.Seconds(), 'f', 6, 64)
	b = append(b, ',', '"', ev.kind, '"', ',')
	b = appendJSONString(b, data)
	b = append(b, ']', '\n')
	s.line = b
	w.put(s, log)
	s.events++
}

// put writes s.line through the (lazily created) gzip member.
func (w *Writer) put(s *sink, log *slog.Logger) {
	if s.err != nil {
		return
	}
	if s.gz == nil {
		w.r.active.Add(1)
		if g, ok := w.r.gzPool.Get().(*gzip.Writer); ok {
			g.Reset(s.bw)
			s.gz = g
		} else {
			s.gz, _ = gzip.NewWriterLevel(s.bw, gzip.BestSpeed)
		}
	}
	if _, err := s.gz.Write(s.line); err != nil {
		w.fail(s, fmt.Errorf("write recording: %w", err), log)
	}
	if cap(s.line) > 64<<10 {
		s.line = nil
	}
}

// endMember finishes the current gzip member and frees the compressor.
func (w *Writer) endMember(s *sink, log *slog.Logger) {
	if s.gz == nil {
		return
	}
	err := s.gz.Close()
	w.r.gzPool.Put(s.gz)
	s.gz = nil
	w.r.active.Add(-1)
	if err == nil {
		err = s.bw.Flush()
	}
	if err != nil {
		w.fail(s, fmt.Errorf("write recording: %w", err), log)
	}
}

func (w *Writer) fail(s *sink, err error, log *slog.Logger) {
	if s.err == nil {
		s.err = err
		if log != nil {
			log.Error("recording failed; the terminal goes on unrecorded", "err", err)
		}
	}
}

func (w *Writer) finish(s *sink, rel string, log *slog.Logger) {
	if len(s.utf8) > 0 && s.err == nil { // flush a dangling partial character
		w.write(s, event{at: time.Since(w.started), kind: kindOutput, final: true}, log)
	}
	w.endMember(s, log)
	var size int64
	if s.f != nil {
		if err := s.f.Sync(); err != nil {
			w.fail(s, fmt.Errorf("sync recording: %w", err), log)
		}
		if st, err := s.f.Stat(); err == nil {
			size = st.Size()
		}
		if err := s.f.Close(); err != nil {
			w.fail(s, fmt.Errorf("close recording: %w", err), log)
		}
	}
	w.mu.Lock()
	dropped, dropB := w.dropped, w.dropB
	w.mu.Unlock()
	var msgs []string
	if s.err != nil {
		msgs = append(msgs, s.err.Error())
	}
	if dropped > 0 {
		msgs = append(msgs, fmt.Sprintf("%d events (%d bytes) dropped: the recorder fell behind", dropped, dropB))
		log.Warn("recording dropped events", "events", dropped, "bytes", dropB)
	}
	errMsg := ""
	for i, m := range msgs {
		if i > 0 {
			errMsg += "; "
		}
		errMsg += m
	}
	if w.r.cfg.Store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := w.r.cfg.Store.FinishRecording(ctx, w.id, size, s.events, errMsg, w.r.cfg.Now()); err != nil {
			log.Error("recording metadata not updated", "err", err)
		}
	}
	log.Debug("recording finished", "bytes", size, "events", s.events, "error", errMsg)
}

// Open returns the decompressed asciicast of the recording stored at rel
// (the path in its row).
func (r *Recorder) Open(rel string) (io.ReadCloser, error) {
	f, err := r.OpenCompressed(rel)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open recording: %w", err)
	}
	return readCloser{Reader: zr, close: func() error { zr.Close(); return f.Close() }}, nil
}

// OpenCompressed returns the stored .cast.gz bytes of rel.
func (r *Recorder) OpenCompressed(rel string) (io.ReadCloser, error) {
	p, err := r.path(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open recording: %w", err)
	}
	return f, nil
}

// path resolves rel inside the recordings directory.
func (r *Recorder) path(rel string) (string, error) {
	if rel == "" || filepath.IsAbs(rel) || !filepath.IsLocal(filepath.FromSlash(rel)) {
		return "", fmt.Errorf("%w: %q", ErrBadPath, rel)
	}
	return filepath.Join(r.cfg.Dir, filepath.FromSlash(rel)), nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (rc readCloser) Close() error { return rc.close() }

func newID() string {
	var b [16]byte
	if _, err := io.ReadFull(randReader, b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 32)
	for i, c := range b {
		out[2*i], out[2*i+1] = hex[c>>4], hex[c&15]
	}
	return string(out)
}
