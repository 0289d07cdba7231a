package assignments_test

import (
	"testing"

	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/recording"
)

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, a, b, want string
	}{
		{"equal", "x\n", "x\n", ""},
		{"one line changed", "port = 80\ndebug = true\n", "port = 8080\ndebug = true\n",
			"--- a\n+++ b\n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n debug = true\n"},
		{"added to empty", "", "new\n", "--- a\n+++ b\n@@ -0,0 +1 @@\n+new\n"},
		{"deleted all", "old\n", "", "--- a\n+++ b\n@@ -1 +0,0 @@\n-old\n"},
		{"no newline at end", "a\n", "a\nb", "--- a\n+++ b\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
			"--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n"},
		{"insert in middle", "a\nb\nc\n", "a\nb\nNEW\nc\n", "--- a\n+++ b\n@@ -1,3 +1,4 @@\n a\n b\n+NEW\n c\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := assignments.UnifiedDiff("a", "b", tc.a, tc.b); got != tc.want {
				t.Fatalf("diff:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestTypedLines(t *testing.T) {
	t.Parallel()
	ev := func(at float64, kind, data string) recording.Event {
		return recording.Event{Time: at, Kind: kind, Data: data}
	}
	cases := []struct {
		name string
		evs  []recording.Event
		want []string
	}{
		{"simple", []recording.Event{ev(1, "i", "ls -l"), ev(1.5, "o", "ls -l"), ev(2, "i", "\r")}, []string{"ls -l"}},
		{"backspace", []recording.Event{ev(1, "i", "catt\x7f /etc/hosts\r")}, []string{"cat /etc/hosts"}},
		{"arrows skipped", []recording.Event{ev(1, "i", "\x1b[A\x1b[Bvi x\r")}, []string{"vi x"}},
		{"ctrl-c drops", []recording.Event{ev(1, "i", "rm -rf /\x03echo ok\r")}, []string{"echo ok"}},
		{"blank lines ignored", []recording.Event{ev(1, "i", "\r\r  \r")}, nil},
		{"no input", []recording.Event{ev(1, "o", "hello\r\n")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := assignments.TypedLines(tc.evs)
			if len(got) != len(tc.want) {
				t.Fatalf("lines %+v, want %q", got, tc.want)
			}
			for i := range got {
				if got[i].Text != tc.want[i] {
					t.Fatalf("line %d %q, want %q", i, got[i].Text, tc.want[i])
				}
			}
		})
	}
}
