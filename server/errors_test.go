package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/authoring"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/terminal"
)

// TestEveryCodeHasAStatus: the one table maps every application error
// code, each to the status its name says.
func TestEveryCodeHasAStatus(t *testing.T) {
	t.Parallel()
	want := map[apperr.Code]int{
		apperr.Internal: 500, apperr.Invalid: 400, apperr.Unprocessable: 422, apperr.Unauthorized: 401, apperr.Forbidden: 403,
		apperr.NotFound: 404, apperr.Conflict: 409, apperr.Gone: 410, apperr.TooLarge: 413, apperr.TooManyRequests: 429,
		apperr.Unavailable: 503, apperr.Timeout: 504,
	}
	for _, code := range apperr.Codes {
		t.Run(string(code), func(t *testing.T) {
			t.Parallel()
			got, ok := statusOf[code]
			if !ok || got != want[code] {
				t.Fatalf("statusOf[%q] = %d (%v), want %d", code, got, ok, want[code])
			}
			err := fmt.Errorf("op: %w", apperr.New(code, "what to do"))
			status, msg := httpStatus(err)
			if status != want[code] {
				t.Fatalf("httpStatus = %d, want %d", status, want[code])
			}
			if code == apperr.Internal && msg != "internal error" || code != apperr.Internal && msg != "op: what to do" {
				t.Fatalf("message %q", msg)
			}
		})
	}
	if len(statusOf) != len(apperr.Codes) {
		t.Fatalf("statusOf has %d codes, apperr %d", len(statusOf), len(apperr.Codes))
	}
}

// TestUnknownErrorsAre500WithoutDetail: an error without a code is 500
// "internal error"; its text (paths, daemon messages) is never shown, and
// no error is recognised by its text.
func TestUnknownErrorsAre500WithoutDetail(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		errors.New("open /var/lib/opsdojo/opsdojo.db: disk on fire"),
		fmt.Errorf("create: %w", errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")),
	} {
		status, msg := httpStatus(err)
		if status != 500 || msg != "internal error" {
			t.Errorf("httpStatus(%v) = %d %q, want 500 \"internal error\"", err, status, msg)
		}
	}
}

// TestDomainErrorMapping: the domain packages' errors get the statuses
// they had before the one table (then three mappers).
func TestDomainErrorMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("attempt x: %w", attempts.ErrNotFound), 404},
		{fmt.Errorf("user: %w", store.ErrNotFound), 404},
		{attempts.ErrNotActive, 409},
		{attempts.ErrNoReset, 409},
		{fmt.Errorf("hint 9: %w", attempts.ErrUnknownHint), 400},
		{fmt.Errorf("/etc/shadow: %w", attempts.ErrNotEditable), 400},
		{attempts.ErrTooLarge, 413},
		{fmt.Errorf("create: %w", sandbox.ErrCapacity), 503},
		{fmt.Errorf("exec: %w", sandbox.ErrNotFound), 410},
		{sandbox.ErrExpired, 410},
		{attempts.ErrNoSandbox, 410},
		{attempts.ErrUnknownVersion, 409},
		{context.DeadlineExceeded, 504},
		{fmt.Errorf("start sandbox for nginx: %w", sandbox.ErrUnavailable), 503}, // was: the text "Cannot connect to the Docker daemon"
		{fiber.NewError(418, "teapot"), 418},
		{attempts.ErrHintsDisabled, 403},
		{&assignments.ValidationError{Field: "title", Msg: "give the assignment a title"}, 422},
		{fmt.Errorf("assignment 1: %w", assignments.ErrNotFound), 404},
		{assignments.ErrInviteUnknown, 404},
		{assignments.ErrInviteUsed, 410},
		{assignments.ErrInviteExpired, 410},
		{assignments.ErrInviteRevoked, 410},
		{assignments.ErrAssignmentClosed, 410},
		{fmt.Errorf("deadline was x: %w", assignments.ErrDeadlinePassed), 409},
		{assignments.ErrAlreadySubmitted, 409},
		{assignments.ErrNotStartable, 409},
		{assignments.ErrStaffEmail, 409},
		{assignments.ErrLoginRequired, 409},
		{accounts.ErrInvalidCredentials, 401},
		{accounts.ErrRateLimited, 429},
		{accounts.ErrBusy, 503},
		{accounts.ErrWrongPassword, 403},
		{&accounts.ValidationError{Field: "password", Msg: "too short"}, 422},
		{accounts.ErrEmailTaken, 422},
		{authoring.ErrBadArchive, 400},
		{authoring.ErrIDTaken, 409},
		{authoring.ErrNotOwner, 403},
		{authoring.ErrTestRunning, 409},
		{terminal.ErrTooManyTickets, 503},
		{fmt.Errorf("read /x: %w", sandbox.ErrNoSuchPath), 404},
	}
	for _, tc := range cases {
		if got, _ := httpStatus(tc.err); got != tc.want {
			t.Errorf("httpStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if got, msg := httpStatus(fmt.Errorf("deadline was 2026-01-01T00:00:00Z: %w", assignments.ErrDeadlinePassed)); got != 409 || !strings.HasPrefix(msg, "deadline was") {
		t.Errorf("a domain error's context is part of its message: %d %q", got, msg)
	}
}
