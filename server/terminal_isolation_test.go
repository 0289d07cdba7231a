package server_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

// Isolation budgets: generous for a shared 2-core machine, far below what
// a victim blocked behind a flood would see (seconds, or never).
const (
	victimMedianMax = 150 * time.Millisecond
	victimMaxMax    = 1500 * time.Millisecond
	floodFor        = 4 * time.Second
)

// roundTrip types a unique echo and waits for its output.
func roundTrip(t testing.TB, c *termclient.Conn, n int) time.Duration {
	t.Helper()
	start := time.Now()
	send(t, c, fmt.Sprintf("echo rt$((%d+0))x\n", n))
	expect(t, c, fmt.Sprintf("rt%dx", n))
	return time.Since(start)
}

// measureVictim runs round trips until stop closes (at most 200) and
// returns their median and maximum.
func measureVictim(t testing.TB, c *termclient.Conn, stop <-chan struct{}) (median, worst time.Duration) {
	t.Helper()
	var ds []time.Duration
	for i := 0; i < 200; i++ {
		select {
		case <-stop:
			i = 200
			continue
		default:
		}
		ds = append(ds, roundTrip(t, c, i))
		time.Sleep(100 * time.Millisecond)
	}
	if len(ds) == 0 {
		t.Fatal("no round trips measured")
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1]
}

func checkVictim(t testing.TB, what string, median, worst time.Duration) {
	t.Helper()
	t.Logf("%s: victim echo median %v, max %v", what, median, worst)
	if median > victimMedianMax || worst > victimMaxMax {
		t.Errorf("%s hurt another session: echo median %v (limit %v), max %v (limit %v)", what, median, victimMedianMax, worst, victimMaxMax)
	}
}

// TestTerminalIsolation: a huge paste, a frame flood and a paused browser
// are throttled or pushed back on, the server's memory stays flat, and a
// session in another sandbox still echoes promptly.
func TestTerminalIsolation(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: 10 * time.Second})
	victimSB, floodSB := e.newSandbox(t), e.newSandbox(t)
	victim := e.dial(t, e.ctx, victimSB, "1", termclient.Options{})
	expect(t, victim, prompt)
	roundTrip(t, victim, -1) // warm up

	t.Run("50 MiB paste is throttled", func(t *testing.T) {
		c := e.dial(t, e.ctx, floodSB, "paste", termclient.Options{})
		expect(t, c, prompt)
		line := "# " + strings.Repeat("p", 1021) + "\n" // a comment: bash runs nothing
		paste := bytes.Repeat([]byte(line), (50<<20)/len(line))
		var sent atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			for off := 0; off < len(paste); off += termclient.ChunkBytes {
				n, err := c.Write(paste[off:min(off+termclient.ChunkBytes, len(paste))])
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
		stop := make(chan struct{})
		time.AfterFunc(floodFor, func() { close(stop) })
		median, worst := measureVictim(t, victim, stop)
		_ = c.Abort() // ends the writer
		<-done
		checkVictim(t, "50 MiB paste", median, worst)
		// Unthrottled, loopback takes 50 MiB in well under a second.
		limit := int64(terminal.InputBurst + terminal.InputRate*int(floodFor/time.Second) + 16<<20) // + socket buffers
		t.Logf("paste: %d MiB accepted in %v (limit %d MiB)", sent.Load()>>20, floodFor, limit>>20)
		if sent.Load() >= int64(len(paste)) || sent.Load() > limit {
			t.Errorf("paste not throttled: %d bytes accepted in %v", sent.Load(), floodFor)
		}
	})

	t.Run("frame flood is throttled", func(t *testing.T) {
		c := e.dial(t, e.ctx, floodSB, "frames", termclient.Options{})
		expect(t, c, prompt)
		var frames atomic.Int64
		done := make(chan struct{})
		deadline := time.Now().Add(floodFor)
		go func() {
			defer close(done)
			for i := 0; i < 2_000_000 && time.Now().Before(deadline); i++ {
				var err error
				if i%2 == 0 {
					err = c.Ping()
				} else {
					err = c.WriteMessage(2, []byte{'#'})
				}
				if err != nil {
					return
				}
				frames.Add(1)
			}
		}()
		stop := make(chan struct{})
		time.AfterFunc(floodFor, func() { close(stop) })
		median, worst := measureVictim(t, victim, stop)
		_ = c.Abort()
		<-done
		checkVictim(t, "frame flood", median, worst)
		t.Logf("frame flood: %d frames sent in %v", frames.Load(), floodFor)
	})

	t.Run("paused browser pushes back on the shell", func(t *testing.T) {
		c := e.dial(t, e.ctx, floodSB, "paused", termclient.Options{})
		expect(t, c, prompt)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		send(t, c, "yes 'opsdojo backpressure'\n")
		// The client reads nothing for a while: the shell must block, not
		// the server buffer.
		stop := make(chan struct{})
		time.AfterFunc(3*time.Second, func() { close(stop) })
		median, worst := measureVictim(t, victim, stop)
		runtime.GC()
		runtime.ReadMemStats(&after)
		growth := int64(after.HeapInuse) - int64(before.HeapInuse)
		t.Logf("paused reader: heap in use grew %d KiB", growth>>10)
		checkVictim(t, "paused reader", median, worst)
		if growth > 32<<20 {
			t.Errorf("heap grew %d MiB while a reader was paused", growth>>20)
		}
		// The shell was blocked, not killed: Ctrl-C, then it answers.
		send(t, c, "\x03")
		send(t, c, "echo back-$((3+4))\n")
		expect(t, c, "back-7")
	})
}

// TestTerminalEnds: a shell without a websocket for longer than the grace
// period is ended with everything it started; shutdown closes sockets with
// a reason.
func TestTerminalEnds(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: time.Second})
	sb := e.newSandbox(t)
	ctx := e.ctx
	c := e.dial(t, ctx, sb, "1", termclient.Options{})
	expect(t, c, prompt)
	send(t, c, "sleep 1000 & setsid nohup sleep 999 >/dev/null 2>&1 & echo started-$((1+1))\n")
	expect(t, c, "started-2")
	_ = c.Close()

	count := func() string {
		res, err := e.mgr.Exec(ctx, sb.id, []string{"sh", "-c", "ps -u candidate -o comm= | grep -c . || true"}, sandbox.ExecOptions{User: "root", Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("exec: %v", err)
		}
		return strings.TrimSpace(string(res.Stdout))
	}
	deadline := time.Now().Add(15 * time.Second)
	for n := count(); n != "0"; n = count() {
		if time.Now().After(deadline) {
			t.Fatalf("%s candidate processes still run after the grace period", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := e.hub.Stats(); st.Sessions != 0 {
		t.Fatalf("hub still holds %d sessions", st.Sessions)
	}

	// Server shutdown closes open terminals with a reason.
	c2 := e.dial(t, ctx, sb, "2", termclient.Options{})
	expect(t, c2, prompt)
	e.shutdown()
	if ce := closeOf(t, c2); ce.Code != terminal.CloseGoingAway || !strings.Contains(ce.Reason, "shutting down") {
		t.Fatalf("close at shutdown = %v", ce)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}
