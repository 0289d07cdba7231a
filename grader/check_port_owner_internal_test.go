package grader

import (
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/challenges"
)

// TestJudgeOwners: the verdicts of port_owner and served_by on sbx-port
// lines, without Docker.
func TestJudgeOwners(t *testing.T) {
	t.Parallel()
	nginx := &challenges.Program{Exe: "/usr/sbin/nginx", Package: "nginx*"}
	out := "owner: pid=7 uid=0 verified=yes pkg=nginx-light path=/usr/sbin/nginx\n" +
		"owner: pid=8 uid=33 verified=yes pkg=nginx-light path=/usr/sbin/nginx\n"
	tests := []struct {
		name string
		prog *challenges.Program
		out  string
		want string // "" = passes
	}{
		{"nginx master and worker", nginx, out, ""},
		{"usrmerge path", &challenges.Program{Exe: "/sbin/nginx"}, out, ""},
		{"nothing listens", nginx, "", "nothing listens on port 80"},
		{"stand-in", nginx, "owner: pid=9 uid=0 verified=yes pkg=python3.11-minimal path=/usr/bin/python3.11\n", "held by /usr/bin/python3.11"},
		{"copy over exe", nginx, "owner: pid=9 uid=0 verified=no pkg=nginx-light path=/usr/sbin/nginx\n", "not what its package installed"},
		{"other package", &challenges.Program{Exe: "/usr/sbin/nginx", Package: "apache2*"}, out, "not from package apache2*"},
		{"path with spaces", &challenges.Program{Exe: "/opt/my app/srv"}, "owner: pid=3 uid=5 verified=no pkg=- path=/opt/my app/srv\n", "not what its package installed"},
		{"uid by name", &challenges.Program{Exe: "/usr/sbin/nginx", User: "www-data"}, out + "owner-user: 33\n", "running as uid 0, not as www-data (uid 33)"},
		{"uid number", &challenges.Program{Exe: "/usr/sbin/nginx", User: "0"}, "owner: pid=7 uid=0 verified=yes pkg=nginx-light path=/usr/sbin/nginx\n", ""},
		{"uid-0 alias", &challenges.Program{Exe: "/usr/sbin/nginx", User: "app"}, out + "owner-user: 0\n", "root under another name"},
		{"missing user", &challenges.Program{Exe: "/usr/sbin/nginx", User: "app"}, out + "owner-user: -\n", "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ls, uid, _ := parseOwners(tc.out)
			ok, msg := judgeOwners(tc.prog, "port 80", ls, uid)
			if tc.want == "" && !ok {
				t.Fatalf("failed: %s", msg)
			}
			if tc.want != "" && (ok || !strings.Contains(msg, tc.want)) {
				t.Fatalf("ok=%v %q, want a failure saying %q", ok, msg, tc.want)
			}
		})
	}
}

func TestJSONMismatch(t *testing.T) {
	t.Parallel()
	body := `{"status": "ok", "items": [{"name": "a"}, {"name": "b"}], "n": 3, "on": true}`
	env := map[string]string{"NAME": "b"}
	for want, msg := range map[string]string{
		`status=ok`: "", `items.#=2`: "", `items.1.name=${NAME}`: "", `n=3`: "", `on=true`: "",
		`status=degraded`: `status is "ok", expected "degraded"`, `missing=x`: "has no missing",
	} {
		k, v, _ := strings.Cut(want, "=")
		got := jsonMismatch(map[string]string{k: v}, body, env)
		if (msg == "" && got != "") || (msg != "" && !strings.Contains(got, msg)) {
			t.Errorf("%s: %q, want %q", want, got, msg)
		}
	}
	if got := jsonMismatch(map[string]string{"a": "1"}, "<html>", nil); !strings.Contains(got, "not JSON") {
		t.Errorf("html body: %q", got)
	}
}
