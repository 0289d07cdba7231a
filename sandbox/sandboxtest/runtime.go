package sandboxtest

import "os"

// Runtime is the sandbox runtime Docker tests use: OPSDOJO_TEST_RUNTIME
// ("runc" or "runsc"; `make test-runsc` runs the attack suites under
// gVisor), "runc" when unset. Pass it as sandbox.Config.Runtime.
func Runtime() string {
	if rt := os.Getenv("OPSDOJO_TEST_RUNTIME"); rt != "" {
		return rt
	}
	return "runc"
}
