package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck GETs a URL and exits 0 on 200: the server image's
// HEALTHCHECK, which has no curl.
func runHealthcheck(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "healthcheck", "healthcheck [--url URL]")
	url := fs.String("health-url", "http://127.0.0.1:8080/healthz", "URL to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("--health-url: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *url, resp.Status)
	}
	return nil
}
