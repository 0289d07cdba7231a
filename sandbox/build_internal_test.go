package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBuildOptionsNeverPull: the daemon's build options give RUN steps no
// network and ask for no pull, no remote context, no build args.
func TestBuildOptionsNeverPull(t *testing.T) {
	t.Parallel()
	o := buildOptions(BuildSpec{Tag: "opsdojo-grade/x:check", Dockerfile: "Dockerfile", Labels: map[string]string{"io.opsdojo.grader-build": "id"}})
	if o.NetworkMode != "none" || o.PullParent || o.RemoteContext != "" || len(o.BuildArgs) != 0 || o.Platform != "" ||
		len(o.CacheFrom) != 0 || len(o.ExtraHosts) != 0 || o.Version != "1" || o.SessionID != "" {
		t.Fatalf("build options %+v", o)
	}
	if o.Memory != BuildMemory || o.MemorySwap != BuildMemory || o.CPUQuota != int64(BuildCPUs*100000) {
		t.Fatalf("build limits %+v", o)
	}
}

// TestCopyBuildStream: the text of the daemon's build messages reaches the
// log in order, one write per message (a line the daemon cut stays cut:
// joining is the reader's job), and the build's error message is returned.
func TestCopyBuildStream(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	msg := func(m map[string]any) {
		b, _ := json.Marshal(m)
		in.Write(b)
	}
	msg(map[string]any{"stream": "Step 1/2 : FROM x\n"})
	msg(map[string]any{"stream": "half a "})
	msg(map[string]any{"stream": "line\n"})
	msg(map[string]any{"aux": map[string]string{"ID": "sha256:0"}})
	msg(map[string]any{"errorDetail": map[string]any{"message": "boom"}, "error": "boom"})
	var writes []string
	errMsg := copyBuildStream(strings.NewReader(in.String()), writerFunc(func(p []byte) (int, error) {
		writes = append(writes, string(p))
		return len(p), nil
	}))
	if errMsg != "boom" {
		t.Errorf("error message %q", errMsg)
	}
	if got := strings.Join(writes, "|"); got != "Step 1/2 : FROM x\n|half a |line\n" {
		t.Errorf("writes %q", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
