package grader_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// gradeWant grades and compares each check's pass/fail with want (checks
// not named must fail).
func (e env) gradeWant(t *testing.T, ctx context.Context, phase, dir string, seed int64, id string, want map[string]bool) grader.Result {
	t.Helper()
	ch := load(t, dir)
	res, err := e.g.Grade(ctx, ch, grader.TargetFor(ch, seed, id))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Checks {
		t.Logf("%s: %-16s passed=%-5v %s", phase, c.ID, c.Passed, c.Message)
		if c.NotRun {
			t.Fatalf("%s: check %s was not run: %s", phase, c.ID, c.Message)
		}
		if c.Passed != want[c.ID] {
			t.Errorf("%s: check %s passed=%v, want %v (%s)", phase, c.ID, c.Passed, want[c.ID], c.Message)
		}
	}
	return res
}

// TestProbeCheckTypes: tcp (connect, banner, send/expect), port_owner and
// the http check's expect_json and served_by pass against the real
// services, and say why when they fail.
func TestProbeCheckTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 4*time.Minute)
	const dir = "testdata/probe-checks"
	id := e.start(t, ctx, load(t, dir), 5)
	all := map[string]bool{"connects": true, "banner": true, "ping": true, "nginx-owns-8080": true, "status-json": true, "status-by-nginx": true, "banner-user": true}
	res := e.gradeWant(t, ctx, "honest", dir, 5, id, all)
	if !res.FullMarks() {
		t.Fatalf("honest sandbox scored %d/%d", res.Score, res.MaxScore)
	}

	// Wrong JSON, a banner service that says something else as root, and
	// the ping service gone.
	e.root(t, ctx, id, `set -e
sed -i 's/"ok"/"degraded"/' /srv/status/status.json
pkill -f '/usr/local/bin/[p]ong'; pkill -f '/usr/local/bin/[b]anner'
cat > /tmp/b.py <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"500 go away\r\n"); c.close()
PY
(setsid python3 /tmp/b.py "$BANNER_PORT" >/dev/null 2>&1 < /dev/null &)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$BANNER_PORT") 2>/dev/null && break; sleep 0.1; done`)
	res = e.gradeWant(t, ctx, "broken", dir, 5, id, map[string]bool{"connects": true, "nginx-owns-8080": true})
	msgs := map[string]string{}
	for _, c := range res.Checks {
		msgs[c.ID] = c.Message
	}
	for check, want := range map[string]string{
		"status-json":     `status is "degraded", expected "ok"`,
		"banner":          `"500 go away"`,
		"ping":            "cannot connect",
		"banner-user":     "running as uid 0, not as banner",
		"status-by-nginx": `does not contain`,
	} {
		if !strings.Contains(msgs[check], want) {
			t.Errorf("check %s message %q does not say %q", check, msgs[check], want)
		}
	}
}

// TestStandInsFailNaturalChecks: the cheats that scored full marks with
// the natural checks (issue #15) now fail them. python3 -m http.server
// serving a copied status.json answers the http check exactly as nginx
// does, so only served_by and port_owner tell it apart; a copied nginx
// binary, python3 copied over /usr/sbin/nginx, and a service run by a
// uid-0 alias of the wanted user fail too.
func TestStandInsFailNaturalChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 5*time.Minute)
	const dir = "testdata/probe-checks"
	id := e.start(t, ctx, load(t, dir), 6)
	others := func(m map[string]bool) map[string]bool {
		for _, k := range []string{"connects", "banner", "ping", "banner-user"} {
			if _, ok := m[k]; !ok {
				m[k] = true
			}
		}
		return m
	}

	// 1. python3 -m http.server on 8080 serving a copy of the page.
	e.root(t, ctx, id, `set -e
mkdir -p /tmp/copy && cp /srv/status/status.json /tmp/copy/
nginx -s stop; for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null || break; sleep 0.1; done
cd /tmp/copy && (setsid python3 -m http.server 8080 >/dev/null 2>&1 < /dev/null &)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done`)
	e.gradeWant(t, ctx, "http.server", dir, 6, id, others(map[string]bool{"status-json": true}))

	// 2. nginx copied to /usr/local/sbin and run from there.
	e.root(t, ctx, id, `set -e
pkill -f 'http[.]server 8080'; for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null || break; sleep 0.1; done
cp /usr/sbin/nginx /usr/local/sbin/nginx && /usr/local/sbin/nginx
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done`)
	e.gradeWant(t, ctx, "copied nginx", dir, 6, id, others(map[string]bool{"status-json": true}))

	// 3. The real nginx path, but a different binary (edited md5sums do not
	// help: verification reads the pristine image's).
	e.root(t, ctx, id, `set -e
/usr/local/sbin/nginx -s stop; for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null || break; sleep 0.1; done
cp /usr/sbin/nginx /usr/sbin/nginx.orig && cp /usr/bin/python3.11 /usr/sbin/nginx
sum=$(md5sum /usr/sbin/nginx | cut -d' ' -f1); sed -i "s|^[0-9a-f]*  usr/sbin/nginx$|$sum  usr/sbin/nginx|" /var/lib/dpkg/info/nginx-light.md5sums || true
cd /tmp/copy && (setsid /usr/sbin/nginx -m http.server 8080 >/dev/null 2>&1 < /dev/null &)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break; sleep 0.1; done`)
	e.gradeWant(t, ctx, "python as nginx", dir, 6, id, others(map[string]bool{"status-json": true}))

	// 4. Back to the real nginx; the banner service now runs as a uid-0
	// alias named banner (useradd --non-unique --uid 0).
	e.root(t, ctx, id, `set -e
pkill -f 'http[.]server 8080'; for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null || break; sleep 0.1; done
mv /usr/sbin/nginx.orig /usr/sbin/nginx && rm /usr/local/sbin/nginx && /usr/sbin/nginx
pkill -u banner; for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$BANNER_PORT") 2>/dev/null || break; sleep 0.1; done
userdel banner && useradd --non-unique --uid 0 --gid 0 --no-create-home banner
(setsid python3 /usr/local/bin/banner "$BANNER_PORT" >/dev/null 2>&1 < /dev/null &)
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8080 && exec 3<>/dev/tcp/127.0.0.1/"$BANNER_PORT") 2>/dev/null && break; sleep 0.1; done`)
	res := e.gradeWant(t, ctx, "uid-0 alias", dir, 6, id, map[string]bool{"connects": true, "banner": true, "ping": true, "nginx-owns-8080": true, "status-json": true, "status-by-nginx": true})
	for _, c := range res.Checks {
		if c.ID == "banner-user" && !strings.Contains(c.Message, "uid 0") {
			t.Errorf("banner-user message %q does not name the uid-0 alias", c.Message)
		}
	}
}
