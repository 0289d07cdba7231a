package server_test

// Benchmarks of docs/benchmarks/terminal.md: opsdojo's terminal path
// (websocket client -> server -> hub -> docker exec) beside a raw Docker
// exec attach (sandbox.Manager.Attach read and written directly) in the same
// run, same machine, same sandbox image.
//
//	go test ./server/ -run '^$' -bench BenchmarkTerminal -benchtime 1x -timeout 20m

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gorilla/websocket"

	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

const (
	readlinePace     = 2 * 2 * time.Second / terminal.MessageRate // 2 frames per keystroke, at half the limit
	benchKeystrokes  = 2000
	benchOutputBytes = 64 << 20
	benchPrompts     = 20
	benchIdleTerms   = 200
	benchIdlePerSB   = 20
)

// reader is what both paths read output from.
type reader interface {
	Read(p []byte) (int, error)
}

// readUntil reads from r until acc holds want; it returns the bytes read.
func readUntil(r reader, want []byte, buf []byte, acc *[]byte) (int, error) {
	total := 0
	for !bytes.Contains(*acc, want) {
		n, err := r.Read(buf)
		total += n
		*acc = append(*acc, buf[:n]...)
		if len(*acc) > 1<<20 {
			*acc = append((*acc)[:0], (*acc)[len(*acc)-4096:]...)
		}
		if err != nil {
			return total, err
		}
	}
	i := bytes.Index(*acc, want)
	*acc = append((*acc)[:0], (*acc)[i+len(want):]...)
	return total, nil
}

type rw interface {
	reader
	Write(p []byte) (int, error)
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func reportLatency(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(percentile(ds, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(ds, 0.99).Microseconds()), "p99-µs")
	b.ReportMetric(0, "ns/op")
}

// keystroke types key into t and waits for want; it returns the time.
func keystroke(b *testing.B, t rw, key, want, buf []byte, acc *[]byte) time.Duration {
	start := time.Now()
	if _, err := t.Write(key); err != nil {
		b.Fatal(err)
	}
	if _, err := readUntil(t, want, buf, acc); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// echoLoop types one byte at a time into `cat` on a raw tty, alternating
// between the raw and the opsdojo terminal, and waits for each echo.
func echoLoop(b *testing.B, raw, ops rw) (dr, do []time.Duration) {
	buf := make([]byte, 64<<10)
	accs := [2][]byte{}
	for i, t := range []rw{raw, ops} {
		if _, err := t.Write([]byte("stty raw -echo; cat\n")); err != nil {
			b.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		keystroke(b, t, []byte("@"), []byte("@"), buf, &accs[i])
		accs[i] = accs[i][:0]
	}
	key := []byte{'x'}
	for range benchKeystrokes {
		dr = append(dr, keystroke(b, raw, key, key, buf, &accs[0]))
		do = append(do, keystroke(b, ops, key, key, buf, &accs[1]))
	}
	return dr, do
}

func reportPair(b *testing.B, dr, do []time.Duration) {
	r50, o50 := percentile(dr, 0.50), percentile(do, 0.50)
	b.ReportMetric(float64(r50.Microseconds()), "raw-p50-µs")
	b.ReportMetric(float64(percentile(dr, 0.99).Microseconds()), "raw-p99-µs")
	b.ReportMetric(float64(o50.Microseconds()), "ops-p50-µs")
	b.ReportMetric(float64(percentile(do, 0.99).Microseconds()), "ops-p99-µs")
	b.ReportMetric(float64(o50)/float64(r50), "p50-ratio")
	b.ReportMetric(0, "ns/op")
}

// readlineLoop types 'x' at the bash prompt and waits for readline's echo,
// then erases it (unmeasured) so the line never grows; raw and opsdojo
// alternate.
func readlineLoop(b *testing.B, raw, ops rw) (dr, do []time.Duration) {
	buf := make([]byte, 64<<10)
	accs := [2][]byte{}
	key, del := []byte{'x'}, []byte{0x7f}
	// Two frames per keystroke (the key, then DEL): paced so a connection
	// stays under the server's per-connection frame limit (MessageRate,
	// 500/s after a burst of 2000), which otherwise throttles the last
	// third of the keystrokes and would be measured as latency.
	pace := time.NewTicker(readlinePace)
	defer pace.Stop()
	for range benchKeystrokes {
		<-pace.C
		for i, t := range []rw{raw, ops} {
			d := keystroke(b, t, key, key, buf, &accs[i])
			if i == 0 {
				dr = append(dr, d)
			} else {
				do = append(do, d)
			}
			keystroke(b, t, del, []byte{'\b'}, buf, &accs[i])
		}
	}
	return dr, do
}

// throughput prints benchOutputBytes and returns MiB/s.
func throughput(b *testing.B, t rw) float64 {
	buf := make([]byte, 64<<10)
	var acc []byte
	if _, err := t.Write([]byte("stty -opost -echo; echo RE''ADY\n")); err != nil {
		b.Fatal(err)
	}
	if _, err := readUntil(t, []byte("READY"), buf, &acc); err != nil {
		b.Fatal(err)
	}
	cmd := fmt.Sprintf("yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c %d; echo; echo EN''D-$((6*7))\n", benchOutputBytes)
	start := time.Now()
	if _, err := t.Write([]byte(cmd)); err != nil {
		b.Fatal(err)
	}
	n, err := readUntil(t, []byte("END-42"), buf, &acc)
	if err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	if n < benchOutputBytes {
		b.Fatalf("read %d bytes, want >= %d", n, benchOutputBytes)
	}
	return float64(n) / (1 << 20) / el.Seconds()
}

// rawTerm is a raw Docker exec attach through the sandbox manager.
func rawTerm(b *testing.B, e *termEnv, sb testSandbox) *sandbox.Terminal {
	t, err := e.mgr.Attach(e.ctx, sb.id, sandbox.AttachOptions{Cols: 80, Rows: 24})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = t.Close() })
	buf := make([]byte, 4096)
	var acc []byte
	if _, err := readUntil(t, []byte(prompt), buf, &acc); err != nil {
		b.Fatal(err)
	}
	return t
}

// syncWS is a minimal websocket client that reads in the caller's
// goroutine (like a browser's event loop), so the benchmark measures the
// server's path rather than termclient's reader-goroutine hand-off.
type syncWS struct {
	ws      *websocket.Conn
	pending []byte
}

func (s *syncWS) Write(p []byte) (int, error) {
	return len(p), s.ws.WriteMessage(websocket.BinaryMessage, p)
}

func (s *syncWS) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		mt, data, err := s.ws.ReadMessage()
		if err != nil {
			return 0, err
		}
		if mt == websocket.BinaryMessage {
			s.pending = data
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func wsTerm(b *testing.B, e *termEnv, sb testSandbox, term string) rw {
	tk := e.ticket(b, sb, term)
	u := "ws" + strings.TrimPrefix(e.base, "http") + tk.URL + "&cols=80&rows=24"
	ws, _, err := websocket.DefaultDialer.DialContext(e.ctx, u, http.Header{"Origin": {e.base}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ws.Close() })
	c := &syncWS{ws: ws}
	var acc []byte
	if _, err := readUntil(c, []byte(prompt), make([]byte, 4096), &acc); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkTerminal(b *testing.B) {
	e := newTermEnv(b, envOptions{grace: time.Minute, record: true, maxPerSandbox: 64, timeout: 15 * time.Minute, memory: 1 << 30})
	sb := e.newSandbox(b)

	// Keystroke echo by bash's readline (what a candidate sees) and by a
	// raw tty with cat (transport only). Raw and opsdojo keystrokes
	// alternate, so both see the same machine load.
	for _, kind := range []string{"readline", "cat"} {
		b.Run("echo-"+kind, func(b *testing.B) {
			// Percentiles over the keystrokes of every iteration (each a
			// fresh pair of terminals), not of the last iteration alone.
			var dr, do []time.Duration
			for i := 0; b.Loop(); i++ {
				raw, ops := rawTerm(b, e, sb), wsTerm(b, e, sb, fmt.Sprintf("%s%d", kind, i))
				var r, o []time.Duration
				if kind == "cat" {
					r, o = echoLoop(b, raw, ops)
				} else {
					r, o = readlineLoop(b, raw, ops)
				}
				dr, do = append(dr, r...), append(do, o...)
			}
			reportPair(b, dr, do)
		})
	}
	// Throughput: raw, opsdojo (recording on, as deployed) and opsdojo
	// without recording take turns each iteration.
	b.Run("throughput", func(b *testing.B) {
		norec := newTermEnv(b, envOptions{grace: time.Minute, timeout: 10 * time.Minute, memory: 1 << 30})
		s1, s2 := e.newSandbox(b), norec.newSandbox(b)
		var raw, ops, opsNoRec []float64
		for i := 0; b.Loop(); i++ {
			raw = append(raw, throughput(b, rawTerm(b, e, s1)))
			ops = append(ops, throughput(b, wsTerm(b, e, s1, fmt.Sprintf("tp%d", i))))
			opsNoRec = append(opsNoRec, throughput(b, wsTerm(b, norec, s2, fmt.Sprintf("tp%d", i))))
		}
		med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
		r, o, n := med(raw), med(ops), med(opsNoRec)
		b.ReportMetric(r, "raw-MiB/s")
		b.ReportMetric(o, "ops-MiB/s")
		b.ReportMetric(n, "ops-norec-MiB/s")
		b.ReportMetric(o/r, "ratio")
		b.ReportMetric(n/r, "norec-ratio")
		b.ReportMetric(0, "ns/op")
	})
}

// BenchmarkTerminalFirstPrompt: click-to-first-prompt from a warm pool
// with pre-spawned shells: Create (hand-out from the pool) -> ticket ->
// websocket -> first prompt on screen; raw: Create -> Attach -> prompt.
func BenchmarkTerminalFirstPrompt(b *testing.B) {
	e := newTermEnv(b, envOptions{grace: time.Minute, record: true, pool: benchPrompts, prespawn: true, timeout: 15 * time.Minute})
	for _, name := range []string{"raw", "opsdojo"} {
		b.Run(name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := e.mgr.FillPool(e.ctx); err != nil {
					b.Fatal(err)
				}
				time.Sleep(500 * time.Millisecond) // let the pool's shells settle
				for i := range benchPrompts {
					a := e.newAttempt(b)
					start := time.Now()
					sb, err := e.mgr.Create(e.ctx, sandbox.Spec{Image: e.image, AttemptID: a, OwnerID: e.userID})
					if err != nil {
						b.Fatal(err)
					}
					s := testSandbox{id: sb.ID, attemptID: a}
					if name == "raw" {
						t, err := e.mgr.Attach(e.ctx, sb.ID, sandbox.AttachOptions{Cols: 80, Rows: 24})
						if err != nil {
							b.Fatal(err)
						}
						var acc []byte
						if _, err := readUntil(t, []byte(prompt), make([]byte, 4096), &acc); err != nil {
							b.Fatal(err)
						}
						ds = append(ds, time.Since(start))
						_ = t.Close()
					} else {
						c := e.dial(b, e.ctx, s, "1", termclient.Options{Cols: 80, Rows: 24})
						expect(b, c, prompt)
						ds = append(ds, time.Since(start))
						_ = c.Close()
					}
					if !sb.FromPool {
						b.Logf("prompt %d: sandbox not from the pool", i)
					}
					_ = e.mgr.Remove(e.ctx, sb.ID)
				}
				b.StartTimer()
			}
			reportLatency(b, ds)
		})
	}
}

// BenchmarkTerminalIdleMemory opens benchIdleTerms terminals from a
// separate client process and reports this (server) process's memory per
// open, idle terminal: Go heap + stacks, and RSS.
func BenchmarkTerminalIdleMemory(b *testing.B) {
	e := newTermEnv(b, envOptions{grace: time.Minute, record: true, maxPerSandbox: benchIdlePerSB, timeout: 15 * time.Minute, memory: 1 << 30})
	var sbs []testSandbox
	for range benchIdleTerms / benchIdlePerSB {
		sbs = append(sbs, e.newSandbox(b))
	}
	for i := 0; b.Loop(); i++ {
		if i > 0 {
			continue // measured once: the terminals below stay open for the grace period
		}
		var urls []string
		for i := range benchIdleTerms {
			sb := sbs[i/benchIdlePerSB]
			urls = append(urls, e.base+e.ticket(b, sb, fmt.Sprintf("m%d", i%benchIdlePerSB)).URL)
		}
		heap0, rss0 := serverMem()
		cmd := exec.CommandContext(e.ctx, os.Args[0], "-test.run=^TestHelperIdleClients$", "-test.timeout=10m")
		cmd.Env = append(os.Environ(), "OPSDOJO_HELPER_URLS="+strings.Join(urls, " "))
		cmd.Stderr = os.Stderr
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "READY" {
				ready = true
				break
			}
		}
		if !ready {
			b.Fatal("helper clients did not connect")
		}
		// Idle: recorders finish their gzip member after IdleFlush and give
		// the compressor back (200 terminals starting at once briefly hold
		// 200 of them, ~350 KiB each).
		time.Sleep(recording.DefaultIdleFlush + time.Second)
		for deadline := time.Now().Add(time.Minute); e.rec.Compressing() > 0 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
		if n := e.rec.Compressing(); n > 0 {
			b.Logf("%d recordings still mid-burst at measurement", n)
		}
		heap1, rss1 := serverMem()
		if p := os.Getenv("OPSDOJO_BENCH_HEAPPROFILE"); p != "" {
			if f, err := os.Create(p); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		st := e.hub.Stats()
		stdin.Close()
		_ = cmd.Wait()
		if st.Attached != benchIdleTerms {
			b.Fatalf("%d terminals attached, want %d", st.Attached, benchIdleTerms)
		}
		b.ReportMetric(float64(heap1-heap0)/benchIdleTerms/1024, "heap+stack-KiB/term")
		b.ReportMetric(float64(rss1-rss0)/benchIdleTerms/1024, "rss-KiB/term")
		b.ReportMetric(0, "ns/op")
	}
}

// serverMem returns Go heap-in-use + stack-in-use, and RSS, of this process.
func serverMem() (goMem, rss int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	goMem = int64(ms.HeapInuse + ms.StackInuse)
	debug.FreeOSMemory() // RSS then shows what is held, not what was freed
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pages * int64(os.Getpagesize())
		}
	}
	return goMem, rss
}

// TestHelperIdleClients is the client process of the memory benchmark: it
// opens every terminal in $OPSDOJO_HELPER_URLS, prints READY once all said
// hello, and holds them until stdin closes.
func TestHelperIdleClients(t *testing.T) {
	urls := os.Getenv("OPSDOJO_HELPER_URLS")
	if urls == "" {
		t.Skip("helper process of BenchmarkTerminalIdleMemory")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var conns []*termclient.Conn
	for _, u := range strings.Fields(urls) {
		c, err := termclient.Dial(ctx, u, "", termclient.Options{Cols: 80, Rows: 24})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns { // drain so prompts do not sit in queues
		go func() {
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	for _, c := range conns {
		for c.Hello() == nil {
			select {
			case <-ctx.Done():
				t.Fatal("no hello")
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	fmt.Println("READY")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
}

// BenchmarkTerminalWebsocketFloor: what any websocket terminal adds to a
// keystroke here. A bare Fiber websocket echo (the library and buffer sizes
// of the terminal endpoint, nothing of opsdojo's), client in the same
// process as in BenchmarkTerminal, with the process idle for 200 µs before
// each keystroke as it is while Docker round-trips the real one.
func BenchmarkTerminalWebsocketFloor(b *testing.B) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/echo", fws.New(func(c *fws.Conn) {
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, data); err != nil {
				return
			}
		}
	}, fws.Config{ReadBufferSize: 4 << 10, WriteBufferSize: terminal.OutputChunkBytes, WriteBufferPool: &sync.Pool{}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	b.Cleanup(func() { _ = app.Shutdown() })
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/echo", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ws.Close() })
	c := &syncWS{ws: ws}
	buf, key := make([]byte, 64), []byte{'x'}
	var ds []time.Duration
	for b.Loop() {
		for range benchKeystrokes {
			time.Sleep(200 * time.Microsecond)
			var acc []byte
			ds = append(ds, keystroke(b, c, key, key, buf, &acc))
		}
	}
	reportLatency(b, ds)
}
