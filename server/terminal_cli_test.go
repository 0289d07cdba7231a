package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestTerminalCLI drives `opsdojo term` (built by the caller into
// $OPSDOJO_TEST_BIN) against a real server. Skipped without the binary.
func TestTerminalCLI(t *testing.T) {
	bin := os.Getenv("OPSDOJO_TEST_BIN")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OPSDOJO_TEST_BIN must name the opsdojo binary in CI (make test sets it)")
		}
		t.Skip("set OPSDOJO_TEST_BIN to an opsdojo binary with the term command (make test does)")
	}
	e := newTermEnv(t, envOptions{grace: 5 * time.Second})
	sb := e.newSandbox(t)
	tk := e.ticket(t, sb, "cli")
	url := e.base + strings.SplitN(tk.URL, "?", 2)[0]
	cmd := exec.CommandContext(e.ctx, bin, "term", url, "--ticket", tk.Ticket)
	cmd.Stdin = strings.NewReader("echo from-cli-$((20+22))\nexit 7\n")
	out, err := cmd.CombinedOutput()
	t.Logf("output:\n%s", out)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 7 || !strings.Contains(string(out), "from-cli-42") {
		t.Fatalf("opsdojo term: %v", err)
	}
}
