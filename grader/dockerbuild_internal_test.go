package grader

import (
	"strings"
	"testing"
)

func TestMainProcessUID(t *testing.T) {
	titles := []string{"PID", "PPID", "UID", "ELAPSED"}
	tests := []struct {
		name    string
		procs   [][]string
		init    int
		want    int
		wantErr bool
	}{
		{"tini then the app", [][]string{{"500", "480", "0", "9"}, {"530", "500", "10001", "9"}}, 500, 10001, false},
		{"pids wrapped: the app's pid is lower than tini's", [][]string{{"120", "32700", "10001", "4"}, {"32700", "32650", "0", "4"}}, 32700, 10001, false},
		{"shell form: sh is the child, python the grandchild", [][]string{{"900", "880", "0", "7"}, {"905", "900", "10001", "7"}, {"910", "905", "10001", "6"}}, 900, 10001, false},
		{"an adopted orphan is younger than the main process", [][]string{{"300", "1", "0", "60"}, {"200", "300", "0", "2"}, {"310", "300", "10001", "60"}}, 300, 10001, false},
		{"no children: the init is the main process", [][]string{{"77", "70", "0", "3"}}, 77, 0, false},
		{"no process of the container", nil, 77, 0, true},
		{"unreadable uid", [][]string{{"77", "70", "?", "3"}}, 77, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mainProcessUID(titles, tt.procs, tt.init)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("mainProcessUID = %d, %v; want %d (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := mainProcessUID([]string{"PID", "UID"}, [][]string{{"1", "0"}}, 1); err == nil {
		t.Fatal("ps output without PPID and ELAPSED columns was accepted")
	}
}

// The daemon cuts a long line of RUN output into several stream messages
// (sandbox writes each to the build log): buildLog must see one line
// (capped once), not one line per write, or a long line would push the
// candidate's steps out of the excerpt.
func TestBuildLogJoinsSplitLines(t *testing.T) {
	t.Parallel()
	b := &buildLog{}
	msg := func(s string) { _, _ = b.Write([]byte(s)) }
	msg("Step 3/5 : RUN echo built && head -c 100000 /dev/zero | tr '\\0' x\n")
	msg(" ---> Running in 0123456789ab\n")
	msg("built\n")
	for i := 0; i < 50; i++ {
		msg(strings.Repeat("x", 2000)) // one 100000-byte line in 50 messages
	}
	msg("\nStep 4/5 : CMD [\"true\"]\n")
	tail, step := b.Tail(), b.step
	lines := strings.Split(tail, "\n")
	want := []string{"Step 3/5 : RUN echo built && head -c 100000 /dev/zero | tr '\\0' x", "built", strings.Repeat("x", maxOutputLine) + " …", "Step 4/5 : CMD [\"true\"]"}
	if step != 4 || len(lines) != len(want) {
		t.Fatalf("step %d, %d lines: %.300q", step, len(lines), tail)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %.80q, want %.80q", i, lines[i], want[i])
		}
	}
}
