package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// recordingTransport records every Docker API request.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// TestCreateNeverPulls: a sandbox of an image missing on the host fails
// with ErrImageMissing naming the image; the manager asks the daemon for no
// pull (POST /images/create) and the image does not appear.
func TestCreateNeverPulls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := &recordingTransport{next: e.cli.HTTPClient().Transport}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation(), client.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	m, err := NewManager(cli, e.config(), testLogger(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	img := "opsdojo/never-built-" + hex.EncodeToString(b) + ":latest"
	ctx := sandboxtest.Context(t, time.Minute)
	for _, network := range []string{NetworkNone, NetworkIsolated} {
		_, err = m.Create(ctx, Spec{Image: img, OwnerID: "o", AttemptID: "a-" + network, Network: network})
		if !errors.Is(err, ErrImageMissing) || !strings.Contains(err.Error(), img) {
			t.Errorf("Create(%s, %s) = %v, want ErrImageMissing naming the image", img, network, err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, r := range rec.reqs {
		if strings.Contains(r, "/images/create") || strings.Contains(r, "/images/load") {
			t.Errorf("the manager asked the daemon to fetch an image: %s", r)
		}
	}
	if _, err := e.cli.ImageInspect(ctx, img); err == nil {
		t.Errorf("%s appeared on the host", img)
	}
	t.Logf("requests: %v", rec.reqs)
}
