package main

import (
	"context"
	"errors"
)

func runChallengeTest(ctx context.Context, app *cli, args []string) error {
	return errors.New("challenge test: not built yet")
}
