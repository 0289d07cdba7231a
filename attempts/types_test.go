package attempts_test

import (
	"testing"

	"github.com/opsdojo/opsdojo/attempts"
)

func TestModeAndStateValid(t *testing.T) {
	t.Parallel()
	for _, m := range []attempts.Mode{attempts.ModePractice, attempts.ModeAssignment, attempts.ModeSelfTest} {
		if got, err := attempts.ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := attempts.ParseMode("exam"); err == nil {
		t.Error("ParseMode(exam) accepted an unknown mode")
	}
	for _, s := range []attempts.State{attempts.StateActive, attempts.StateSubmitted, attempts.StateExpired, attempts.StateAbandoned} {
		if !s.Valid() {
			t.Errorf("%q not valid", s)
		}
	}
	if attempts.State("paused").Valid() {
		t.Error("unknown state valid")
	}
}
