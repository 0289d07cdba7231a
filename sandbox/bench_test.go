package sandbox

// Benchmarks of the Manager beside the raw Docker API doing the same work in
// the same run. Run them once each (they take samples themselves):
//
//	go test ./sandbox/ -run '^$' -bench . -benchtime=1x -timeout 20m
//
// docs/benchmarks/sandbox.md holds the figures of the last run.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// Benchmark sizes.
const (
	benchSamples     = 20
	benchDensity     = 100
	benchConcurrency = 4
	benchTimeout     = 15 * time.Minute
)

type samples []time.Duration

func (s samples) pct(p float64) time.Duration {
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c) == 0 {
		return 0
	}
	i := int(p*float64(len(c))+0.5) - 1
	i = min(max(i, 0), len(c)-1)
	return c[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report prints ours beside raw and records p50/p90 and the p50 ratio.
func report(b *testing.B, what string, ours, raw samples) {
	b.ReportMetric(ms(ours.pct(0.5)), "p50-ms")
	b.ReportMetric(ms(ours.pct(0.9)), "p90-ms")
	if raw != nil {
		b.ReportMetric(ms(raw.pct(0.5)), "raw-p50-ms")
		b.ReportMetric(ms(raw.pct(0.9)), "raw-p90-ms")
		b.ReportMetric(float64(ours.pct(0.5))/float64(raw.pct(0.5)), "ratio-p50")
		b.Logf("%s: manager p50 %.1fms p90 %.1fms | raw p50 %.1fms p90 %.1fms | ratio p50 %.2f",
			what, ms(ours.pct(0.5)), ms(ours.pct(0.9)), ms(raw.pct(0.5)), ms(raw.pct(0.9)), float64(ours.pct(0.5))/float64(raw.pct(0.5)))
		return
	}
	b.Logf("%s: manager p50 %.1fms p90 %.1fms", what, ms(ours.pct(0.5)), ms(ours.pct(0.9)))
}

type benchEnv struct {
	env
	m   *Manager
	ctx context.Context
}

func newBench(b *testing.B, mut func(c *Config, image string)) *benchEnv {
	e := newEnv(b)
	ctx := sandboxtest.Context(b, benchTimeout)
	cfg := e.config()
	cfg.MaxSandboxes = 500
	if mut != nil {
		mut(&cfg, e.image)
	}
	return &benchEnv{env: e, m: newManager(b, e, cfg, nil), ctx: ctx}
}

// rawCreate does what `docker run -d --network none --init IMAGE sleep
// infinity` does: create + start, no hardening, no checks.
func (be *benchEnv) rawCreate(b *testing.B) string {
	init := true
	cr, err := be.cli.ContainerCreate(be.ctx, &container.Config{
		Image: be.image, Cmd: []string{"sleep", "infinity"}, Entrypoint: []string{},
		Labels: map[string]string{LabelManaged: "true", LabelInstance: be.inst},
	}, &container.HostConfig{NetworkMode: "none", Init: &init}, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := be.cli.ContainerStart(be.ctx, cr.ID, container.StartOptions{}); err != nil {
		b.Fatal(err)
	}
	return cr.ID
}

func (be *benchEnv) rawRemove(b *testing.B, id string) {
	if err := be.cli.ContainerRemove(be.ctx, id, container.RemoveOptions{Force: true}); err != nil {
		b.Fatal(err)
	}
}

// rawShellTTFB starts a TTY exec of the default shell and waits for its
// first byte.
func (be *benchEnv) rawShellTTFB(b *testing.B, id string) time.Duration {
	start := time.Now()
	cr, err := be.cli.ContainerExecCreate(be.ctx, id, container.ExecOptions{
		User: DefaultUser, Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: []string{"TERM=" + defaultTerm}, Cmd: defaultShell,
	})
	if err != nil {
		b.Fatal(err)
	}
	hj, err := be.cli.ContainerExecAttach(be.ctx, cr.ID, container.ExecAttachOptions{Tty: true})
	if err != nil {
		b.Fatal(err)
	}
	defer hj.Close()
	if _, err := hj.Reader.ReadByte(); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	_, _ = hj.Conn.Write([]byte("exit\n"))
	return d
}

// rawExec runs cmd and reads it to the end plus its exit code.
func (be *benchEnv) rawExec(b *testing.B, id string, cmd []string) time.Duration {
	start := time.Now()
	cr, err := be.cli.ContainerExecCreate(be.ctx, id, container.ExecOptions{User: DefaultUser, Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		b.Fatal(err)
	}
	hj, err := be.cli.ContainerExecAttach(be.ctx, cr.ID, container.ExecAttachOptions{})
	if err != nil {
		b.Fatal(err)
	}
	_, _ = stdcopy.StdCopy(io.Discard, io.Discard, hj.Reader)
	hj.Close()
	if _, err := be.cli.ContainerExecInspect(be.ctx, cr.ID); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func firstByte(b *testing.B, t *Terminal) {
	buf := make([]byte, 1)
	if _, err := t.Read(buf); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCreateCold: Manager.Create without a pool (create, drift check,
// start) vs raw create+start.
func BenchmarkCreateCold(b *testing.B) {
	be := newBench(b, nil)
	var ours, raw samples
	for range b.N {
		for range benchSamples {
			start := time.Now()
			sb, err := be.m.Create(be.ctx, Spec{Image: be.image})
			if err != nil {
				b.Fatal(err)
			}
			ours = append(ours, time.Since(start))
			start = time.Now()
			id := be.rawCreate(b)
			raw = append(raw, time.Since(start))
			_ = be.m.Remove(be.ctx, sb.ID)
			be.rawRemove(b, id)
		}
	}
	report(b, "create cold", ours, raw)
}

// BenchmarkPoolToFirstByte: Create served by the warm pool, then Attach,
// until the first byte of the prompt; raw: a TTY exec of the same shell on
// an already started container, until its first byte.
func BenchmarkPoolToFirstByte(b *testing.B) {
	be := newBench(b, func(c *Config, image string) {
		c.PrespawnShell = true
		c.Pools = []PoolConfig{{Image: image, Size: 2}}
	})
	rawID := be.rawCreate(b)
	defer be.rawRemove(b, rawID)
	var ours, raw, create samples
	for range b.N {
		for range benchSamples {
			if err := be.m.FillPool(be.ctx); err != nil {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let the pre-spawned shells settle
			start := time.Now()
			sb, err := be.m.Create(be.ctx, Spec{Image: be.image})
			if err != nil {
				b.Fatal(err)
			}
			create = append(create, time.Since(start))
			t, err := be.m.Attach(be.ctx, sb.ID, AttachOptions{})
			if err != nil {
				b.Fatal(err)
			}
			firstByte(b, t)
			ours = append(ours, time.Since(start))
			if !sb.FromPool {
				b.Fatalf("not from the pool")
			}
			raw = append(raw, be.rawShellTTFB(b, rawID))
			_ = be.m.Remove(be.ctx, sb.ID)
		}
	}
	report(b, "pool hand-out to first prompt byte (vs raw exec of the shell on a running container)", ours, raw)
	b.Logf("  of which Create from the pool: p50 %.1fms p90 %.1fms", ms(create.pct(0.5)), ms(create.pct(0.9)))
}

// BenchmarkAttachFirstByte: Manager.Attach of a fresh login shell (no
// pre-spawn) to the first byte vs the raw TTY exec of the same command.
func BenchmarkAttachFirstByte(b *testing.B) {
	be := newBench(b, nil)
	sb, err := be.m.Create(be.ctx, Spec{Image: be.image})
	if err != nil {
		b.Fatal(err)
	}
	var ours, raw samples
	for range b.N {
		for range benchSamples {
			start := time.Now()
			t, err := be.m.Attach(be.ctx, sb.ID, AttachOptions{Cols: 80, Rows: 24})
			if err != nil {
				b.Fatal(err)
			}
			firstByte(b, t)
			ours = append(ours, time.Since(start))
			_ = t.Close()
			raw = append(raw, be.rawShellTTFB(b, sb.ID))
		}
	}
	report(b, "attach fresh login shell to first byte", ours, raw)
}

// BenchmarkExec: Manager.Exec of `echo hi` (create, attach, demux, exit
// code) vs the same raw calls.
func BenchmarkExec(b *testing.B) {
	be := newBench(b, nil)
	sb, err := be.m.Create(be.ctx, Spec{Image: be.image})
	if err != nil {
		b.Fatal(err)
	}
	var ours, raw samples
	for range b.N {
		for range benchSamples {
			start := time.Now()
			if _, err := be.m.Exec(be.ctx, sb.ID, []string{"echo", "hi"}, ExecOptions{}); err != nil {
				b.Fatal(err)
			}
			ours = append(ours, time.Since(start))
			raw = append(raw, be.rawExec(b, sb.ID, []string{"echo", "hi"}))
		}
	}
	report(b, "exec echo (complete, with exit code)", ours, raw)
}

// BenchmarkRemove: Manager.Remove vs raw force-remove.
func BenchmarkRemove(b *testing.B) {
	be := newBench(b, nil)
	var ours, raw samples
	for range b.N {
		for range benchSamples {
			sb, err := be.m.Create(be.ctx, Spec{Image: be.image})
			if err != nil {
				b.Fatal(err)
			}
			id := be.rawCreate(b)
			start := time.Now()
			if err := be.m.Remove(be.ctx, sb.ID); err != nil {
				b.Fatal(err)
			}
			ours = append(ours, time.Since(start))
			start = time.Now()
			be.rawRemove(b, id)
			raw = append(raw, time.Since(start))
		}
	}
	report(b, "remove", ours, raw)
}

// BenchmarkDensity starts 100 idle sandboxes (4 at a time) and reports the
// wall time, start throughput and host memory per sandbox, beside raw
// containers. It runs two rounds in opposite orders (manager-raw, raw-manager)
// and sums them, so load from other processes biases neither side.
func BenchmarkDensity(b *testing.B) {
	be := newBench(b, nil)
	ours := func() (string, error) {
		sb, err := be.m.Create(be.ctx, Spec{Image: be.image})
		if err != nil {
			return "", err
		}
		return sb.ID, nil
	}
	oursRm := func(id string) { _ = be.m.Remove(be.ctx, id) }
	raw := func() (string, error) { return be.rawCreate(b), nil }
	rawRm := func(id string) { be.rawRemove(b, id) }
	for range b.N {
		var oursWall, rawWall time.Duration
		var oursMem, rawMem int64
		for round := range 2 {
			if round == 0 {
				w, mem := density(b, be, ours, oursRm)
				oursWall, oursMem = oursWall+w, oursMem+mem
			}
			w, mem := density(b, be, raw, rawRm)
			rawWall, rawMem = rawWall+w, rawMem+mem
			if round == 1 {
				w, mem := density(b, be, ours, oursRm)
				oursWall, oursMem = oursWall+w, oursMem+mem
			}
		}
		oursMem, rawMem = oursMem/2, rawMem/2
		oursRate := float64(2*benchDensity) / oursWall.Seconds()
		rawRate := float64(2*benchDensity) / rawWall.Seconds()
		b.ReportMetric(oursRate, "sandboxes/s")
		b.ReportMetric(rawRate, "raw-containers/s")
		b.ReportMetric(oursRate/rawRate, "throughput-ratio")
		b.ReportMetric(float64(oursMem)/(1<<20), "MiB/sandbox")
		b.ReportMetric(float64(rawMem)/(1<<20), "raw-MiB/container")
		b.Logf("density %d (2 rounds): manager %.1fs per 100 (%.1f/s, %.1f MiB each) | raw %.1fs per 100 (%.1f/s, %.1f MiB each) | throughput ratio %.2f",
			benchDensity, oursWall.Seconds()/2, oursRate, float64(oursMem)/(1<<20), rawWall.Seconds()/2, rawRate, float64(rawMem)/(1<<20), oursRate/rawRate)
	}
}

func density(b *testing.B, be *benchEnv, create func() (string, error), remove func(string)) (time.Duration, int64) {
	before := memAvailable(b)
	ids := make([]string, 0, benchDensity)
	var mu sync.Mutex
	sem := make(chan struct{}, benchConcurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range benchDensity {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := create()
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	time.Sleep(2 * time.Second) // let them settle
	perBox := (before - memAvailable(b)) / int64(max(len(ids), 1))
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			remove(id)
		}()
	}
	wg.Wait()
	return wall, perBox
}

// memAvailable reads MemAvailable of the host in bytes.
func memAvailable(b *testing.B) int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal(fmt.Errorf("no MemAvailable"))
	return 0
}

// BenchmarkRuntimeCost measures what gVisor costs beside runc in the same
// run, alternating the two so that host load hits both alike: create+start
// of a hardened sandbox (Manager.Create, fresh container, no pool) and 200
// process spawns inside it (one Exec of a bash loop running /bin/true).
// Needs the runsc-hostinet runtime (scripts/setup-host.sh).
//
//	go test ./sandbox/ -run '^$' -bench RuntimeCost -benchtime=1x -timeout 20m
func BenchmarkRuntimeCost(b *testing.B) {
	const n = 10
	e := newEnv(b)
	ctx := sandboxtest.Context(b, benchTimeout)
	managers := map[string]*Manager{}
	for _, rt := range []string{RuntimeRunc, RuntimeRunsc} {
		cfg := e.config()
		cfg.Runtime = rt
		cfg.Defaults.Pids = 256 // 200 spawns run one after the other; room for bash
		managers[rt] = newManager(b, e, cfg, nil)
	}
	create := map[string]samples{}
	spawn := map[string]samples{}
	for i := range n {
		for _, rt := range []string{RuntimeRunc, RuntimeRunsc} {
			m := managers[rt]
			start := time.Now()
			sb, err := m.Create(ctx, Spec{Image: e.image, AttemptID: fmt.Sprintf("cost-%s-%d", rt, i)})
			if err != nil {
				b.Fatalf("%s: create: %v", rt, err)
			}
			create[rt] = append(create[rt], time.Since(start))
			start = time.Now()
			res, err := m.Exec(ctx, sb.ID, []string{"bash", "-c", "for i in $(seq 200); do /bin/true; done; echo done"}, ExecOptions{Timeout: time.Minute})
			d := time.Since(start)
			if err != nil || strings.TrimSpace(string(res.Stdout)) != "done" {
				b.Fatalf("%s: spawn loop: %v %q %q", rt, err, res.Stdout, res.Stderr)
			}
			spawn[rt] = append(spawn[rt], d)
			if err := m.Remove(ctx, sb.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		what string
		s    map[string]samples
		unit string
	}{{"create+start", create, "create"}, {"200 spawns", spawn, "spawn200"}} {
		g, r := c.s[RuntimeRunsc], c.s[RuntimeRunc]
		b.ReportMetric(ms(r.pct(0.5)), c.unit+"-runc-p50-ms")
		b.ReportMetric(ms(g.pct(0.5)), c.unit+"-runsc-p50-ms")
		b.ReportMetric(float64(g.pct(0.5))/float64(r.pct(0.5)), c.unit+"-ratio-p50")
		b.Logf("%s (n=%d each, alternating): runc p50 %.0fms p90 %.0fms | runsc p50 %.0fms p90 %.0fms | runsc/runc p50 %.2fx",
			c.what, n, ms(r.pct(0.5)), ms(r.pct(0.9)), ms(g.pct(0.5)), ms(g.pct(0.9)), float64(g.pct(0.5))/float64(r.pct(0.5)))
	}
}
