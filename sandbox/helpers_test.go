package sandbox

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// Limits of the test sandboxes: small so that bombs end fast.
const (
	testMemory  = 128 << 20
	testPids    = 64
	testCPUs    = 0.5
	testDisk    = 64 << 20
	testTimeout = 90 * time.Second
)

// fakeClock is a settable clock for lifecycle tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	cli   *client.Client
	image string
	inst  string
}

func newEnv(t testing.TB) env {
	t.Helper()
	cli := sandboxtest.Client(t)
	img := sandboxtest.Image(t, cli)
	return env{cli: cli, image: img, inst: sandboxtest.Instance(t, cli)}
}

func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("OPSDOJO_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// testConfig is a Config with the small test limits.
func (e env) config() Config {
	return Config{
		Instance:     e.inst,
		MaxSandboxes: 200,
		MaxPerOwner:  -1,
		Defaults:     Resources{CPUs: testCPUs, Memory: testMemory, Pids: testPids, Disk: testDisk},
		TmpfsSize:    16 << 20,
		TmpfsInodes:  2048,
		ShmSize:      8 << 20,
		NoFile:       256,
		LogMaxSize:   "100k",
		LogMaxFiles:  2,
		ExecTimeout:  20 * time.Second,
		ReapInterval: 500 * time.Millisecond,
		ProbeImage:   e.image,
		Runtime:      testRuntime(),
	}
}

// testRuntime is the sandbox runtime of Docker tests: OPSDOJO_TEST_RUNTIME
// (runc or runsc; CI runs the adversarial suite under both), runc if unset.
func testRuntime() string { return sandboxtest.Runtime() }

func newManager(t testing.TB, e env, cfg Config, now func() time.Time) *Manager {
	t.Helper()
	m, err := NewManager(e.cli, cfg, testLogger(t), now)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return m
}

func mustCreate(t testing.TB, ctx context.Context, m *Manager, s Spec) *Sandbox {
	t.Helper()
	sb, err := m.Create(ctx, s)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return sb
}

// run execs a shell snippet and fails the test on an infrastructure error.
func run(t testing.TB, ctx context.Context, m *Manager, id, user, script string, timeout time.Duration) ExecResult {
	t.Helper()
	res, err := m.Exec(ctx, id, []string{"bash", "-c", script}, ExecOptions{User: user, Timeout: timeout})
	if err != nil {
		t.Fatalf("Exec %q: %v", script, err)
	}
	return res
}

func networkInspectOpts() network.InspectOptions { return network.InspectOptions{} }

// fakeInspect builds the inspect answer Docker gives for a container created
// with cc and hc (for drift-detection unit cases).
func fakeInspect(cc *container.Config, hc *container.HostConfig) container.InspectResponse {
	h := *hc
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{HostConfig: &h},
		Config:            cc,
	}
}
