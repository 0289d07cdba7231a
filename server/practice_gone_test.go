package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/store"
)

// TestCheckFailuresMapped: a Check on a sandbox that is gone answers 410
// and one whose checks could not run 503, each with a plain message (no
// container id, no daemon detail), and neither is a 500.
func TestCheckFailuresMapped(t *testing.T) {
	t.Parallel()
	gone := fmt.Errorf("attempt a1: %w (sandbox not found: %s)", attempts.ErrSandboxGone, strings.Repeat("ab", 32))
	cases := []struct {
		name string
		err  error
		code int
		msg  error
	}{
		{"gone at Check", gone, fiber.StatusGone, attempts.ErrSandboxGone},
		{"gone during grading", attempts.JobError(&store.GradingJob{State: store.JobFailed, Error: "sandbox gone: the sandbox disappeared during grading"}), fiber.StatusGone, attempts.ErrSandboxGone},
		{"checks could not run", attempts.JobError(&store.GradingJob{State: store.JobFailed, Error: "grading could not run: serves: the grader could not run this check: Cannot connect to the Docker daemon"}), fiber.StatusServiceUnavailable, attempts.ErrGradingFailed},
		{"gave up", attempts.JobError(&store.GradingJob{State: store.JobFailed, Error: "gave up after 3 tries"}), fiber.StatusServiceUnavailable, attempts.ErrGradingFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fe *fiber.Error
			if got := domainError(tc.err); !errors.As(got, &fe) || fe.Code != tc.code || fe.Message != tc.msg.Error() {
				t.Fatalf("domainError(%v) = %v, want %d %q", tc.err, got, tc.code, tc.msg)
			}
		})
	}
}
