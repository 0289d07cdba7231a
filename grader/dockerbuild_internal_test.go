package grader

import "testing"

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
