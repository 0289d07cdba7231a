package sandbox

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// Freezing a gVisor sandbox. No side container can join the PID namespace
// of a gVisor sandbox (it lives inside the sentry), and runsc refuses to
// signal a process of a paused sandbox. So under runsc the candidate's
// work is stopped from OUTSIDE, just before the pause: a runc helper in
// the host's PID and network namespaces (where runsc reaches the sentry's
// control socket), without any capability, runs the host's runsc
// (read-only bind) against its state directory (read-only bind):
//
//  1. `runsc ps` lists the sandbox's processes with uid and parent
//     (gVisor's own table, which the candidate cannot fake);
//  2. each process the rule of freeze.go selects (a terminal's work, read
//     from the process tree: see runscFreezeScript; or any process of the
//     terminal account when it is not root) gets SIGSTOP through
//     `runsc kill --pid`: a stopped process runs no code and forks no
//     more. The listing repeats until a pass finds nothing new (children
//     forked before their parent stopped), at most runscFreezePasses times;
//  3. every stopped process gets SIGKILL; then Pause freezes the rest.
//
// Nothing of this runs inside the sandbox: the candidate can neither see
// nor signal it (the exec it replaces ran as the terminal user, inside).

// runscFreezePasses bounds the stop passes over gVisor's process table;
// runscFreezeTimeout the helper (one runsc call per process and signal,
// each a Go program's start: seconds on a loaded host).
const (
	runscFreezePasses  = 10
	runscFreezeTimeout = 90 * time.Second
)

// runscFreezeScript: $1 runsc binary, $2 its state dir, $3 container id,
// $4 the terminal user's uid, $5 passes. One line per killed process.
//
// gVisor gives an exec'd terminal no controlling tty, so the terminal rule
// reads the process tree instead: a terminal is an exec (ppid 0, not the
// sandbox's init), and its work is every process below it. A process that
// left that tree (re-parented to init: a double-forked daemon, a service
// restarted through its tools) is kept, as a detached one is under runc.
// SIGSTOP comes first, so nothing is re-parented while the tree is read.
const runscFreezeScript = `r=$1 state=$2 id=$3 uid=$4 passes=$5
select='NR > 1 && $2 ~ /^[0-9]+$/ {
  u[$2] = $1; pp[$2] = $3; tty[$2] = $5; c = $0
  for (i = 0; i < 7; i++) sub(/^[^ ]+ +/, "", c)
  comm[$2] = c; n[++k] = $2
}
END {
  for (i = 1; i <= k; i++) {
    p = n[i]; why = ""
    if (tty[p] != "?") why = "terminal"
    q = p
    for (d = 0; q != "" && q != 0 && q != 1 && d < 4096; d++) {
      if (pp[q] == 0) { why = "terminal"; break }
      q = pp[q]
    }
    if (uid != 0 && u[p] == uid) why = "account"
    if (why != "") print p, u[p], why, comm[p]
  }
}'
stopped=" " out= n=0
while [ $n -lt "$passes" ]; do n=$((n+1))
  ps=$("$r" --root "$state" ps "$id") || { echo "runsc ps failed" >&2; exit 2; }
  sel=$(printf '%s\n' "$ps" | awk -v uid="$uid" "$select") || exit 2
  new=0
  while read -r pid u why comm; do
    [ -n "$pid" ] || continue
    case "$stopped" in *" $pid "*) continue ;; esac
    "$r" --root "$state" kill --pid "$pid" "$id" STOP 2>/dev/null || continue  # gone meanwhile
    stopped="$stopped$pid " new=1
    out="$out$pid uid=$u $why: $comm
"
  done <<EOF
$sel
EOF
  [ $new = 1 ] || break
done
for pid in $stopped; do "$r" --root "$state" kill --pid "$pid" "$id" KILL 2>/dev/null; done
printf '%s' "$out"`

// stopRunsc stops the candidate's work in gVisor sandbox rec from outside
// (see the top of this file) and returns one line per process killed. The
// sandbox must be running (runsc signals no paused process).
func (m *Manager) stopRunsc(ctx context.Context, rec *record) ([]string, error) {
	uid, err := m.terminalUID(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("sandbox: stop terminal work in %s: %w", shortID(rec.sb.ID), err)
	}
	bin, err := m.runscBinary(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: stop terminal work in %s: %w", shortID(rec.sb.ID), err)
	}
	cmd := []string{"sh", "-c", runscFreezeScript, "sh", runscFactsBin, runscFactsState, rec.sb.ID, strconv.Itoa(uid), strconv.Itoa(runscFreezePasses)}
	out, err := m.freezeHelper(ctx, rec, cmd, runscFreezeTimeout, func(hc *container.HostConfig) {
		hc.PidMode, hc.NetworkMode, hc.CapAdd = "host", "host", nil
		hc.ReadonlyRootfs = true
		hc.Mounts = []mount.Mount{
			{Type: mount.TypeBind, Source: bin, Target: runscFactsBin, ReadOnly: true},
			{Type: mount.TypeBind, Source: runscStateDir, Target: runscFactsState, ReadOnly: true},
		}
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: stop terminal work in %s: %w", shortID(rec.sb.ID), err)
	}
	return lines(out), nil
}

// terminalUID is the uid of rec's terminal user, read from the sandbox's
// /etc/passwd through the daemon (root is 0 without looking).
func (m *Manager) terminalUID(ctx context.Context, rec *record) (int, error) {
	user := rec.sb.User
	if user == "" || user == "root" {
		return 0, nil
	}
	if n, err := strconv.Atoi(user); err == nil && n >= 0 {
		return n, nil
	}
	data, err := m.readDaemonFile(ctx, rec.sb.ID, "/etc/passwd")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 && f[0] == user {
			if n, err := strconv.Atoi(f[2]); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("the terminal user %q is not in the sandbox's /etc/passwd", user)
}
