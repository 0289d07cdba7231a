package apperr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/opsdojo/opsdojo/apperr"
)

var errMissing = apperr.New(apperr.NotFound, "no such widget")

type fieldError struct{ field string }

func (e *fieldError) Error() string          { return e.field + ": is wrong" }
func (e *fieldError) ErrorCode() apperr.Code { return apperr.Unprocessable }

func TestCodeAndMessage(t *testing.T) {
	t.Parallel()
	daemon := errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
	cases := []struct {
		name string
		err  error
		code apperr.Code
		msg  string
	}{
		{"nil", nil, "", ""},
		{"sentinel", errMissing, apperr.NotFound, "no such widget"},
		{"wrapped with %w keeps the code and the context", fmt.Errorf("widget 7: %w", errMissing), apperr.NotFound, "widget 7: no such widget"},
		{"type with its own code", fmt.Errorf("form: %w", &fieldError{"email"}), apperr.Unprocessable, "form: email: is wrong"},
		{"Wrap hides the cause", fmt.Errorf("start: %w", apperr.Wrap(apperr.Unavailable, "the Docker daemon cannot be reached", daemon)), apperr.Unavailable, "start: the Docker daemon cannot be reached"},
		{"Hide hides the cause", fmt.Errorf("attempt 1: %w", apperr.Hide(errMissing, daemon)), apperr.NotFound, "attempt 1: no such widget"},
		{"unknown errors are internal", fmt.Errorf("query: %w", errors.New("disk /var/lib/x on fire")), apperr.Internal, apperr.InternalMessage},
		{"a bare deadline", fmt.Errorf("grade: %w", context.DeadlineExceeded), apperr.Timeout, apperr.TimeoutMessage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := apperr.ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
			if got := apperr.ErrorMessage(tc.err); got != tc.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.msg)
			}
		})
	}
}

func TestIsSeesThroughWrapAndHide(t *testing.T) {
	t.Parallel()
	cause := context.Canceled
	if err := fmt.Errorf("x: %w", apperr.Hide(errMissing, cause)); !errors.Is(err, errMissing) || !errors.Is(err, cause) {
		t.Fatalf("Hide: errors.Is lost the public error or the cause: %v", err)
	}
	if err := apperr.Wrap(apperr.Unavailable, "down", cause); !errors.Is(err, cause) {
		t.Fatal("Wrap: errors.Is lost the cause")
	}
	if got := apperr.Cause(fmt.Errorf("x: %w", apperr.Hide(errMissing, errors.New("container abc gone")))); got != "container abc gone" {
		t.Fatalf("Cause = %q", got)
	}
	if got := apperr.Cause(errMissing); got != "" {
		t.Fatalf("Cause of an error without one = %q", got)
	}
}
