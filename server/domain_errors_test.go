package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/store"
)

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
		{errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock"), 503},
		{fiber.NewError(418, "teapot"), 418},
	}
	for _, tc := range cases {
		var fe *fiber.Error
		if got := domainError(tc.err); !errors.As(got, &fe) || fe.Code != tc.want {
			t.Errorf("domainError(%v) = %v, want status %d", tc.err, got, tc.want)
		}
	}
	if domainError(nil) != nil {
		t.Error("nil must stay nil")
	}
	if err := errors.New("disk on fire"); domainError(err) != err {
		t.Error("unknown errors pass through (and become a logged 500)")
	}
}
