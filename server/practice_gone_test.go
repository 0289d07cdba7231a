package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/attempts"
)

// TestCheckFailuresMapped: a Check on a sandbox that is gone answers 410
// and one whose checks could not run 503, each with a plain message (no
// container id, no daemon detail), and neither is a 500.
func TestCheckFailuresMapped(t *testing.T) {
	t.Parallel()
	gone := fmt.Errorf("attempt a1: %w", apperr.Hide(attempts.ErrSandboxGone, fmt.Errorf("sandbox not found: %s", strings.Repeat("ab", 32))))
	cases := []struct {
		name string
		err  error
		code int
		msg  error
	}{
		{"gone at Check", gone, fiber.StatusGone, attempts.ErrSandboxGone},
		{"gone during grading", attempts.JobError(&attempts.GradingJob{State: attempts.JobFailed, Error: "sandbox gone: the sandbox disappeared during grading"}), fiber.StatusGone, attempts.ErrSandboxGone},
		{"checks could not run", attempts.JobError(&attempts.GradingJob{State: attempts.JobFailed, Error: "grading could not run: serves: the grader could not run this check: Cannot connect to the Docker daemon"}), fiber.StatusServiceUnavailable, attempts.ErrGradingFailed},
		{"gave up", attempts.JobError(&attempts.GradingJob{State: attempts.JobFailed, Error: "gave up after 3 tries"}), fiber.StatusServiceUnavailable, attempts.ErrGradingFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := httpStatus(tc.err)
			if code != tc.code || !strings.HasSuffix(msg, tc.msg.Error()) || strings.Contains(msg, "abab") || strings.Contains(msg, "Docker") || !errors.Is(tc.err, tc.msg) {
				t.Fatalf("httpStatus(%v) = %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
			}
		})
	}
}
