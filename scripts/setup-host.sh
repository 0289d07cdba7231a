#!/usr/bin/env bash
# Installs and starts what an opsdojo host (or CI) needs on Debian/Ubuntu:
# Docker engine, debootstrap (offline base images), PostgreSQL (tests and
# production option), Chromium (browser tests), Node.js/npm (front-end build),
# gVisor (runsc, registered in dockerd for `opsdojo serve --runtime runsc`).
# Idempotent: safe to run again; it only installs what is missing and only
# starts what is not running. Needs root.
set -euo pipefail

log() { printf '[setup-host] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-host.sh must run as root (it installs packages and starts dockerd/PostgreSQL): sudo $0" >&2
	exit 1
fi

PKGS=(docker.io docker-compose debootstrap postgresql chromium nodejs npm make git ca-certificates curl xz-utils runsc jq prometheus)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm may come from elsewhere (nodesource, the CI image): keep them.
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
	missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	log "packages already installed"
fi

# --- gVisor runtimes in /etc/docker/daemon.json (merged, never overwritten) ---
# "runsc":          network=none, loopback inside gVisor's netstack (strict;
#                   unreachable from outside the sandbox, even by the grader).
# "runsc-hostinet": network=host, i.e. socket calls go to the host kernel in the
#                   container's OWN network namespace; what opsdojo sandboxes use
#                   so the grader's probe can reach their services (docs/SANDBOX.md).
# runsc's own netstack (network=sandbox) refuses to start on kernels >= 6.x here
# ("cannot run with network enabled in root network namespace"); the KVM platform
# hangs on these machines, so ptrace it is (override: RUNSC_PLATFORM=kvm).
DAEMON_JSON=/etc/docker/daemon.json
runtimes_changed=0
if RUNSC=$(command -v runsc); then
	platform=${RUNSC_PLATFORM:-ptrace}
	want=$(jq -n --arg p "$RUNSC" --arg pl "--platform=$platform" '{
		"runsc":          {path: $p, runtimeArgs: [$pl, "--network=none"]},
		"runsc-hostinet": {path: $p, runtimeArgs: [$pl, "--network=host"]}}')
	mkdir -p /etc/docker
	cur='{}'
	if [ -s "$DAEMON_JSON" ]; then
		cur=$(jq . "$DAEMON_JSON") || { echo "$DAEMON_JSON is not valid JSON; fix it first" >&2; exit 1; }
	fi
	next=$(jq --argjson r "$want" '.runtimes = ((.runtimes // {}) + $r)' <<<"$cur")
	if [ "$next" != "$cur" ]; then
		log "registering runsc runtimes in $DAEMON_JSON"
		printf '%s\n' "$next" >"$DAEMON_JSON.tmp" && mv "$DAEMON_JSON.tmp" "$DAEMON_JSON"
		runtimes_changed=1
	fi
else
	log "runsc not found: gVisor runtimes not registered (opsdojo serve --runtime runsc will refuse to start)"
fi

# --- Docker engine ---
if [ "$runtimes_changed" = 1 ] && docker info >/dev/null 2>&1; then
	# runtimes are reloadable: SIGHUP, no restart (running containers keep going).
	log "reloading dockerd configuration (SIGHUP)"
	if command -v systemctl >/dev/null && systemctl is-active --quiet docker 2>/dev/null; then
		systemctl reload docker
	else
		kill -HUP "$(pidof dockerd)"
	fi
	for _ in $(seq 1 20); do docker info --format '{{json .Runtimes}}' | grep -q runsc-hostinet && break; sleep 0.5; done
	docker info --format '{{json .Runtimes}}' | grep -q runsc-hostinet || { echo "dockerd did not pick up the runsc runtimes from $DAEMON_JSON" >&2; exit 1; }
fi
if ! docker info >/dev/null 2>&1; then
	log "starting dockerd"
	if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
		systemctl start docker
	else
		nohup dockerd >/var/log/dockerd.log 2>&1 &
	fi
	for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
	docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2 || true; exit 1; }
fi
log "docker $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), runtimes: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"

# --- PostgreSQL ---
PGVER=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$PGVER" ]; then echo "PostgreSQL is not installed" >&2; exit 1; fi
if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
	pg_createcluster "$PGVER" main >/dev/null
fi
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
	log "starting PostgreSQL $PGVER"
	pg_ctlcluster "$PGVER" main start
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
pg_isready -q -h 127.0.0.1 || { echo "PostgreSQL did not start" >&2; exit 1; }
# A role for tests (creates a fresh database per test) and local use.
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='opsdojo'\"" | grep -q 1 ||
	su postgres -c "psql -qc \"CREATE ROLE opsdojo LOGIN CREATEDB PASSWORD 'opsdojo'\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='opsdojo'\"" | grep -q 1 ||
	su postgres -c "psql -qc \"CREATE DATABASE opsdojo OWNER opsdojo\""
log "postgres ready: postgres://opsdojo:opsdojo@127.0.0.1:5432/opsdojo?sslmode=disable"
