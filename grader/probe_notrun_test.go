package grader

import (
	"encoding/base64"
	"testing"
)

// TestProbeOutputNotRun: a reason a probe helper left in $SBX_NOTRUN
// reaches the result whatever the check printed, and an empty one does
// not (the runner always prints the notrun= field).
func TestProbeOutputNotRun(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	out := parseProbeOutput([]byte(resultMarker + " c00.sh 0 12 " + b64([]byte("swallowed\n")) + " notrun=" + b64([]byte("/tmp lives inside the gVisor sandbox\nsecond\n")) + "\n" +
		resultMarker + " c01.sh 1 3  notrun=" + b64([]byte("no exe\n")) + "\n" +
		resultMarker + " c02.sh 0 3 " + b64([]byte("ok\n")) + " notrun=\n" +
		resultMarker + " c03.sh 0 3  notrun=\n"))
	want := map[string]probeResult{
		"c00.sh": {exit: 0, output: "swallowed\n", notrun: "/tmp lives inside the gVisor sandbox"},
		"c01.sh": {exit: 1, output: "", notrun: "no exe"},
		"c02.sh": {exit: 0, output: "ok\n"},
		"c03.sh": {exit: 0},
	}
	for id, w := range want {
		g, ok := out[id]
		if !ok || g.exit != w.exit || g.output != w.output || g.notrun != w.notrun {
			t.Errorf("%s: got %+v (found %v), want %+v", id, g, ok, w)
		}
	}
}
