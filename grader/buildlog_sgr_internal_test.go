package grader

import "testing"

// TestDaemonLineBehindColourReset: after a RUN step wrote to stderr the
// daemon's next line starts with ESC[0m; it is still the daemon's (it
// showed "Removing intermediate container <id>" to the candidate).
func TestDaemonLineBehindColourReset(t *testing.T) {
	t.Parallel()
	for _, l := range []string{"\x1b[0mRemoving intermediate container 81b4c243435b", "\x1b[91m\x1b[0m ---> 5f2c", "Successfully built 1"} {
		if !isDaemonLine(l) {
			t.Errorf("%q is not recognised as the daemon's", l)
		}
	}
	if isDaemonLine("\x1b[91museradd warning: app's uid 0 outside of the UID_MIN") {
		t.Error("the candidate's stderr was taken for the daemon's")
	}
}
