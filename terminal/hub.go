package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Hub defaults.
const (
	// DefaultGrace is how long a shell waits, detached, for its websocket to
	// come back before it is ended.
	DefaultGrace = 60 * time.Second
	// DefaultScrollback is how much recent output is replayed on reconnect.
	DefaultScrollback = 64 << 10
	// DefaultMaxPerSandbox caps terminals (tabs) per sandbox.
	DefaultMaxPerSandbox = 8
	// DefaultMaxTerminals caps terminals per server.
	DefaultMaxTerminals = 2000
	// smallRead is the pump's read size while the shell is quiet; it
	// switches to OutputChunkBytes while output flows, so an idle terminal
	// holds no large buffer.
	smallRead = 1 << 10
	// resizeTimeout bounds one resize call to Docker.
	resizeTimeout = 5 * time.Second
	// exitProbe bounds how long the pump asks Docker for an exit code.
	exitProbe     = time.Second
	exitProbeStep = 50 * time.Millisecond
	// closeTimeout bounds ending a shell (Docker kills its processes).
	closeTimeout = 20 * time.Second
	// sealKeep is how long a sealed attempt is remembered. By then the
	// attempt is over in the database, which refuses tickets on its own.
	sealKeep = time.Hour
)

// Errors of Hub operations (match with errors.Is).
var (
	// ErrSandboxGone: the sandbox does not exist (any more) or expired.
	ErrSandboxGone = errors.New("sandbox is gone")
	// ErrTooManyTerminals: a per-sandbox or global cap is reached.
	ErrTooManyTerminals = errors.New("too many terminals")
	// ErrHubClosed: the hub is shutting down.
	ErrHubClosed = errors.New("terminal hub is shutting down")
	// ErrAttemptClosed: the attempt was sealed (submitted, time up): none
	// of its terminals opens again.
	ErrAttemptClosed = errors.New("terminal closed")
)

// PTY is a running interactive shell: what it prints is read, what the
// user types is written. Close must end the shell and its processes.
type PTY interface {
	io.ReadWriteCloser
	Resize(ctx context.Context, cols, rows uint) error
}

// Attacher starts shells in sandboxes. Attach returns an error wrapping
// ErrSandboxGone when the sandbox does not exist or expired.
type Attacher interface {
	Attach(ctx context.Context, sandboxID string, size Size) (PTY, error)
}

// aliveChecker is implemented by Attachers that know whether a sandbox
// still exists (a shell killed by the sandbox's removal must be reported
// as "sandbox gone", not as an exit).
type aliveChecker interface {
	Alive(sandboxID string) bool
}

// exitCoder is implemented by PTYs that can tell how their shell ended.
type exitCoder interface {
	ExitCode(ctx context.Context) (code int, running bool, err error)
}

// RecordSink receives what a terminal shows and what its user types. Its
// methods must never block (implementations queue and drop).
type RecordSink interface {
	Output(p []byte)
	Input(p []byte)
	Resize(cols, rows int)
	Close()
}

// StartRecording opens a recording for one shell session.
type StartRecording func(attemptID, term string, cols, rows int) RecordSink

// Config tunes a Hub. Zero values take the Default* constants.
type Config struct {
	Grace         time.Duration
	Scrollback    int
	MaxPerSandbox int
	MaxTerminals  int
	// Record, when set, is called once per shell session.
	Record StartRecording
	Log    *slog.Logger
}

type sessionKey struct{ sandbox, term string }

// Hub owns the terminal sessions of this server. Safe for concurrent use.
type Hub struct {
	att Attacher
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	sessions  map[sessionKey]*session
	perSB     map[string]int
	sealed    map[string]sealEntry // attempt -> why its terminals are closed
	closed    bool
	wg        sync.WaitGroup // session goroutines
	chunkPool sync.Pool
}

// NewHub returns a hub that starts shells with att.
func NewHub(att Attacher, cfg Config) *Hub {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Scrollback <= 0 {
		cfg.Scrollback = DefaultScrollback
	}
	if cfg.MaxPerSandbox <= 0 {
		cfg.MaxPerSandbox = DefaultMaxPerSandbox
	}
	if cfg.MaxTerminals <= 0 {
		cfg.MaxTerminals = DefaultMaxTerminals
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		att: att, cfg: cfg, log: cfg.Log.With("component", "terminal"),
		sessions: map[sessionKey]*session{}, perSB: map[string]int{}, sealed: map[string]sealEntry{},
	}
	h.chunkPool.New = func() any { b := make([]byte, OutputChunkBytes); return &b }
	return h
}

func (h *Hub) getChunk() *[]byte  { return h.chunkPool.Get().(*[]byte) }
func (h *Hub) putChunk(b *[]byte) { *b = (*b)[:cap(*b)]; h.chunkPool.Put(b) }

// MaxPerSandbox is how many terminals (tabs) one sandbox may have.
func (h *Hub) MaxPerSandbox() int { return h.cfg.MaxPerSandbox }

// Stats is a snapshot of the hub.
type Stats struct {
	Sessions int // running shells
	Attached int // shells with a websocket
}

// Stats reports how many shells run and how many have a websocket.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	ss := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		ss = append(ss, s)
	}
	h.mu.Unlock()
	st := Stats{Sessions: len(ss)}
	for _, s := range ss {
		s.mu.Lock()
		if s.client != nil {
			st.Attached++
		}
		s.mu.Unlock()
	}
	return st
}

// Broadcast sends ev (marshalled to JSON; it should carry a "type") to
// every websocket attached to a terminal of attemptID, e.g.
// {"type":"check","result":…}. It never blocks; it returns how many
// terminals it reached.
func (h *Hub) Broadcast(attemptID string, ev any) (int, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("terminal broadcast: %w", err)
	}
	n := 0
	for _, s := range h.snapshot(func(s *session) bool { return s.attemptID == attemptID }) {
		if s.sendEvent(b) {
			n++
		}
	}
	return n, nil
}

// CloseSandbox ends every terminal of sandboxID: their websockets get a
// status event and close code CloseSandboxGone with reason, their shells
// are killed. Call it when a sandbox is removed on purpose (submit,
// expiry); a sandbox that disappears is noticed anyway. It returns when the
// shells have ended or ctx is done.
func (h *Hub) CloseSandbox(ctx context.Context, sandboxID, reason string) int {
	return h.terminate(ctx, func(s *session) bool { return s.key.sandbox == sandboxID }, "sandbox closed: "+reason)
}

// terminate ends the sessions keep selects with CloseSandboxGone and
// reason, and waits for them (or ctx); it returns how many it ended.
func (h *Hub) terminate(ctx context.Context, keep func(*session) bool, reason string) int {
	ss := h.snapshot(keep)
	for _, s := range ss {
		go s.terminate(CloseSandboxGone, reason)
	}
	for _, s := range ss {
		select {
		case <-s.done:
		case <-ctx.Done():
			return len(ss)
		}
	}
	return len(ss)
}

type sealEntry struct {
	reason string
	at     time.Time
}

// Seal closes attemptID to terminal work from this instant: its shells
// take no more input (keystrokes already in flight are dropped), and none
// of its terminals can be opened or reattached. reason is what clients
// are told. The shells keep running until CloseAttempt (or the caller's
// freeze) ends them. Sealing twice keeps the first reason.
func (h *Hub) Seal(attemptID, reason string) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for a, e := range h.sealed {
		if now.Sub(e.at) > sealKeep {
			delete(h.sealed, a)
		}
	}
	if _, ok := h.sealed[attemptID]; !ok {
		h.sealed[attemptID] = sealEntry{reason: reason, at: now}
	}
	for _, s := range h.sessions {
		if s.attemptID == attemptID {
			s.sealed.Store(true)
			// However the shell ends from now on (closed, or killed by the
			// caller's freeze), its client is told why.
			s.mu.Lock()
			if s.endReason == "" {
				s.endCode, s.endReason = CloseSandboxGone, "terminal closed: "+reason
			}
			s.mu.Unlock()
		}
	}
}

// Sealed reports whether attemptID was sealed, and why. Ticket issuing
// asks it, so a ticket is refused on the replica that froze the attempt
// even before the database says so.
func (h *Hub) Sealed(attemptID string) (reason string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.sealed[attemptID]
	return e.reason, ok
}

// CloseAttempt seals attemptID (see Seal) and ends its terminals: their
// websockets get a status event and close code CloseSandboxGone with
// "terminal closed: " + reason, their shells are closed. It returns how
// many terminals it ended, when they have ended or ctx is done.
func (h *Hub) CloseAttempt(ctx context.Context, attemptID, reason string) int {
	h.Seal(attemptID, reason)
	return h.terminate(ctx, func(s *session) bool { return s.attemptID == attemptID }, "terminal closed: "+reason)
}

// Shutdown ends every shell (their websockets are told the server is going
// away) and waits for the session goroutines, bounded by ctx.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	for _, s := range h.snapshot(func(*session) bool { return true }) {
		go s.terminate(CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("terminal hub shutdown: %w", ctx.Err())
	}
}

func (h *Hub) snapshot(keep func(*session) bool) []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*session
	for _, s := range h.sessions {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// open finds the running shell of g (reconnect) or starts one, and attaches
// a to it. It returns the scrollback to replay and whether the shell was
// resumed.
func (h *Hub) open(ctx context.Context, g Grant, size Size, a *attachment) (s *session, replay []byte, resumed bool, err error) {
	key := sessionKey{g.SandboxID, g.Term}
	for range 3 { // a shell that ends while we attach is retried
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, nil, false, ErrHubClosed
		}
		if e, ok := h.sealed[g.AttemptID]; ok {
			h.mu.Unlock()
			return nil, nil, false, fmt.Errorf("%w: %s", ErrAttemptClosed, e.reason)
		}
		s = h.sessions[key]
		if s == nil {
			if h.perSB[g.SandboxID] >= h.cfg.MaxPerSandbox {
				h.mu.Unlock()
				return nil, nil, false, fmt.Errorf("%w: at most %d per sandbox", ErrTooManyTerminals, h.cfg.MaxPerSandbox)
			}
			if len(h.sessions) >= h.cfg.MaxTerminals {
				h.mu.Unlock()
				return nil, nil, false, fmt.Errorf("%w: server limit %d reached", ErrTooManyTerminals, h.cfg.MaxTerminals)
			}
			s = h.newSession(key, g.AttemptID, size)
			h.sessions[key] = s
			h.perSB[g.SandboxID]++
			h.wg.Add(1)
			h.mu.Unlock()
			go s.start(ctx)
		} else {
			h.mu.Unlock()
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, nil, false, ctx.Err()
		}
		if s.startErr != nil {
			return nil, nil, false, s.startErr
		}
		replay, resumed, ok := s.attach(a)
		if ok {
			if size != s.currentSize() {
				s.resize(ctx, size)
			}
			return s, replay, resumed, nil
		}
	}
	return nil, nil, false, errors.New("terminal: shell kept ending while attaching")
}

func (h *Hub) remove(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sessions[s.key] == s {
		delete(h.sessions, s.key)
		if h.perSB[s.key.sandbox]--; h.perSB[s.key.sandbox] <= 0 {
			delete(h.perSB, s.key.sandbox)
		}
	}
}

// session is one shell and its (at most one) attached websocket.
type session struct {
	hub       *Hub
	key       sessionKey
	attemptID string
	log       *slog.Logger

	ready    chan struct{} // closed when start finished
	startErr error
	pty      PTY
	rec      RecordSink
	done     chan struct{} // closed when the session ended
	sealed   atomic.Bool   // its attempt was sealed: input is dropped

	mu        sync.Mutex
	sb        *scrollback
	size      Size
	client    *attachment
	attached  bool // a window has been attached (a later one resumes)
	grace     *time.Timer
	ended     bool
	endCode   int    // close code for the client when terminated on purpose
	endReason string // idem
}

func (h *Hub) newSession(key sessionKey, attemptID string, size Size) *session {
	return &session{
		hub: h, key: key, attemptID: attemptID, size: size,
		log:   h.log.With("sandbox", shortID(key.sandbox), "term", key.term),
		ready: make(chan struct{}), done: make(chan struct{}), sb: newScrollback(h.cfg.Scrollback),
	}
}

func (s *session) start(ctx context.Context) {
	// The shell outlives the request that started it; only the attach call
	// itself is bounded by the request.
	pty, err := s.hub.att.Attach(ctx, s.key.sandbox, s.size)
	if err != nil {
		s.startErr = err
		s.hub.remove(s)
		close(s.ready)
		close(s.done)
		s.hub.wg.Done()
		return
	}
	s.pty = pty
	if s.hub.cfg.Record != nil {
		s.rec = s.hub.cfg.Record(s.attemptID, s.key.term, s.size.Cols, s.size.Rows)
	}
	s.log.Debug("shell started")
	close(s.ready)
	go s.pump()
}

func (s *session) currentSize() Size {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// attach makes a the session's client, kicking a previous one. It returns
// the scrollback snapshot (output from then on goes to a).
func (s *session) attach(a *attachment) (replay []byte, resumed, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return nil, false, false
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	if old := s.client; old != nil {
		old.finish(CloseTakenOver, "this terminal was opened in another window", Event{Type: "status", State: "taken-over", Message: "This terminal was opened in another window."})
	}
	s.client = a
	// Resumed means a window was attached before. A fresh shell may
	// already have printed its prompt (a pre-spawned pool shell): that is
	// replayed too, but it is not a reconnect.
	resumed = s.attached
	s.attached = true
	return s.sb.Bytes(), resumed, true
}

// detach is called by a's connection when it ends; the shell waits Grace for
// a reconnect.
func (s *session) detach(a *attachment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != a {
		return
	}
	s.client = nil
	if s.ended {
		return
	}
	grace := s.hub.cfg.Grace
	s.grace = time.AfterFunc(grace, func() {
		s.mu.Lock()
		still := s.client == nil && !s.ended
		s.mu.Unlock()
		if still {
			s.log.Info("no reconnect within grace period; ending shell", "grace", grace)
			s.terminate(CloseNormal, "no reconnect within the grace period")
		}
	})
}

func (s *session) sendEvent(b []byte) bool {
	s.mu.Lock()
	a := s.client
	s.mu.Unlock()
	return a != nil && a.event(b)
}

func (s *session) input(p []byte) error {
	if s.sealed.Load() {
		return ErrAttemptClosed
	}
	if s.rec != nil {
		s.rec.Input(p)
	}
	if _, err := s.pty.Write(p); err != nil {
		return fmt.Errorf("terminal input: %w", err)
	}
	return nil
}

func (s *session) resize(ctx context.Context, size Size) {
	s.mu.Lock()
	s.size = size
	s.mu.Unlock()
	if s.rec != nil {
		s.rec.Resize(size.Cols, size.Rows)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resizeTimeout)
	defer cancel()
	if err := s.pty.Resize(rctx, uint(size.Cols), uint(size.Rows)); err != nil {
		s.log.Debug("resize failed", "err", err)
	}
}

// pump copies the shell's output to the scrollback, the recording and the
// attached websocket. When the websocket's queue is full it waits: the
// shell then blocks on its own output (backpressure). While detached it
// keeps reading so the shell never stalls; output lands in the scrollback.
func (s *session) pump() {
	small := make([]byte, smallRead)
	big := false
	for {
		var chunk *[]byte
		buf := small
		if big {
			chunk = s.hub.getChunk()
			buf = *chunk
		}
		n, err := s.pty.Read(buf)
		if n > 0 {
			if chunk == nil {
				chunk = s.hub.getChunk()
				*chunk = append((*chunk)[:0], buf[:n]...)
			} else {
				*chunk = (*chunk)[:n]
			}
			s.deliver(chunk)
		} else if chunk != nil {
			s.hub.putChunk(chunk)
		}
		big = n > smallRead/2
		if err != nil {
			s.end(err)
			return
		}
	}
}

func (s *session) deliver(chunk *[]byte) {
	s.mu.Lock()
	s.sb.Write(*chunk)
	a := s.client
	s.mu.Unlock()
	if s.rec != nil {
		s.rec.Output(*chunk)
	}
	if a == nil || !a.output(chunk) {
		s.hub.putChunk(chunk)
	}
}

// terminate ends the shell on purpose; the pump then ends the session and
// tells the client code and reason.
func (s *session) terminate(code int, reason string) {
	select {
	case <-s.ready:
	case <-s.done:
		return
	}
	if s.startErr != nil {
		return
	}
	s.mu.Lock()
	if s.endReason == "" {
		s.endCode, s.endReason = code, reason
	}
	s.mu.Unlock()
	if err := s.pty.Close(); err != nil {
		s.log.Warn("ending shell", "err", err)
	}
}

// end runs once, on the pump, when the shell's stream ended.
func (s *session) end(readErr error) {
	defer s.hub.wg.Done()
	defer close(s.done)
	s.mu.Lock()
	code, reason := s.endCode, s.endReason
	s.mu.Unlock()
	ev := Event{Type: "status", State: "closed", Message: reason}
	if reason == "" {
		code, reason, ev = s.exitStatus()
	}
	s.hub.remove(s)
	s.mu.Lock()
	s.ended = true
	a := s.client
	s.client = nil
	if s.grace != nil {
		s.grace.Stop()
	}
	s.mu.Unlock()
	// Always kill what the shell left behind (nohup'd jobs, setsid).
	if err := s.pty.Close(); err != nil {
		s.log.Debug("closing shell", "err", err)
	}
	if s.rec != nil {
		s.rec.Close()
	}
	if a != nil {
		a.finish(code, reason, ev)
	}
	s.log.Info("shell ended", "reason", reason, "read_err", readErr)
}

// exitStatus asks Docker how the shell ended: exited with a code, or its
// sandbox is gone.
func (s *session) exitStatus() (int, string, Event) {
	gone := Event{Type: "status", State: "sandbox-gone", Message: "The sandbox was removed or has expired."}
	if ac, ok := s.hub.att.(aliveChecker); ok && !ac.Alive(s.key.sandbox) {
		return CloseSandboxGone, "sandbox is gone (removed or expired)", gone
	}
	ec, ok := s.pty.(exitCoder)
	if !ok {
		zero := 0
		return CloseNormal, "shell exited", Event{Type: "exit", Code: &zero}
	}
	ctx, cancel := context.WithTimeout(context.Background(), exitProbe)
	defer cancel()
	for {
		code, running, err := ec.ExitCode(ctx)
		if err != nil {
			return CloseSandboxGone, "sandbox is gone (removed or expired)", gone
		}
		if !running {
			return CloseNormal, fmt.Sprintf("shell exited with code %d", code), Event{Type: "exit", Code: &code}
		}
		select {
		case <-ctx.Done():
			unknown := -1
			return CloseNormal, "shell stream ended", Event{Type: "exit", Code: &unknown}
		case <-time.After(exitProbeStep):
		}
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
