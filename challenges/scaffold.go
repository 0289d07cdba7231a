package challenges

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// SchemaURL is where the published JSON Schema lives; scaffolds point the
// YAML language server at it.
const SchemaURL = "https://raw.githubusercontent.com/opsdojo/opsdojo/main/docs/challenge.schema.json"

// Scaffold returns the files of a new challenge of kind with the given id
// (path relative to the challenge dir -> content). Every scaffold passes
// Load and is built to pass `challenge test`: setup breaks something, the
// solution fixes it, the wrong fixes do not reach full marks. schemaRef is
// the $schema reference written in the yaml-language-server comment
// (SchemaURL when empty).
func Scaffold(kind Kind, id, schemaRef string) (map[string][]byte, error) {
	if !idRe.MatchString(id) {
		return nil, fmt.Errorf("challenge name %q: must be a slug of 3-64 lower-case letters, digits and dashes", id)
	}
	if schemaRef == "" {
		schemaRef = SchemaURL
	}
	var tmpl map[string]string
	switch kind {
	case KindTroubleshoot:
		tmpl = troubleshootScaffold
	case KindDockerfile:
		tmpl = dockerfileScaffold
	case KindTerraform:
		tmpl = terraformScaffold
	case KindPipeline:
		tmpl = pipelineScaffold // pipeline.go
	default:
		return nil, fmt.Errorf("unknown kind %q: want %s", kind, oneOf(Kinds))
	}
	out := map[string][]byte{}
	for _, name := range slices.Sorted(maps.Keys(tmpl)) {
		s := strings.NewReplacer("{{ID}}", id, "{{SCHEMA}}", schemaRef, "¦", "`").Replace(tmpl[name])
		out[name] = []byte(strings.TrimLeft(s, "\n"))
	}
	return out, nil
}

// ScaffoldExecutable reports whether a scaffold file should be 0755.
func ScaffoldExecutable(name string) bool { return strings.HasSuffix(name, ".sh") }

var troubleshootScaffold = map[string]string{
	"challenge.yaml": `
# yaml-language-server: $schema={{SCHEMA}}
id: {{ID}}
title: The status API keeps dying
kind: troubleshoot
difficulty: easy
time_limit: 20m
tags: [linux, permissions, systemd-less]
description: |
  The team's small **status API** should answer on
  ¦http://localhost:8080/healthz¦, but it dies right after it starts.

  Find out why and fix it properly: nothing may become world-writable.
  The service is managed with ¦status-api start|stop|restart|logs¦.
sandbox:
  image: opsdojo/shell
  # The sandbox runs with no-new-privileges, so sudo cannot work: the
  # candidate is root inside the hardened, capability-limited container.
  user: root
  resources: {cpus: 0.5, memory: 256Mi, pids: 128}
  network: none
  capabilities: [CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETGID, SETUID]
  setup: setup.sh
  # Run when an idle practice sandbox is restored after hibernation (files
  # kept, processes gone): starts the service again, never re-breaks it.
  on_resume: resume.sh
checks:
  - id: serves-health
    title: the API answers /healthz with 200
    type: http
    url: http://localhost:8080/healthz
    body_contains: ok
    points: 60
  - id: log-dir-owned
    title: the log directory belongs to the service user and is not world-writable
    run: checks/log-dir-owned.sh
    points: 40
    timeout: 5s
hints:
  - text: The service writes why it died somewhere. Try ¦status-api logs¦.
    cost: 10
  - text: Which user does the service run as, and who owns its log directory?
    cost: 20
solution: solution.sh
wrong_fixes:
  - wrong/restart-only.sh
  - wrong/chmod-777.sh
`,
	"setup.sh": `
#!/bin/bash
# Runs as root before the candidate connects: installs the status API and
# breaks it (its log directory is owned by root, the service runs as
# statusapi and cannot open its log).
set -euo pipefail

useradd --system --no-create-home --shell /usr/sbin/nologin statusapi

mkdir -p /opt/status-api
cat > /opt/status-api/app.py <<'EOF'
import http.server
import logging

logging.basicConfig(filename="/var/log/status-api/app.log", level=logging.INFO,
                    format="%(asctime)s %(message)s")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            status, body = 200, b"ok\n"
        else:
            status, body = 404, b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        logging.info(fmt, *args)


logging.info("status-api starting on 127.0.0.1:8080")
http.server.ThreadingHTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
EOF

cat > /usr/local/bin/status-api <<'EOF'
#!/bin/bash
# status-api start|stop|restart|logs
set -u
errlog=/var/log/status-api.stderr
case "${1:-}" in
start)
  setsid setpriv --reuid=statusapi --regid=statusapi --init-groups \
    python3 /opt/status-api/app.py >>"$errlog" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 20); do
    if curl -fs -o /dev/null http://127.0.0.1:8080/healthz; then echo "status-api is up"; exit 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "status-api failed to start; see: status-api logs" >&2
  exit 1
  ;;
stop) pkill -f /opt/status-api/app.py || true; sleep 0.5 ;;
restart) "$0" stop; "$0" start ;;
logs) tail -n 30 "$errlog" ;;
*) echo "usage: status-api start|stop|restart|logs" >&2; exit 2 ;;
esac
EOF
chmod 0755 /usr/local/bin/status-api

# The break: the directory exists but only root may write to it.
mkdir -p /var/log/status-api
chown root:root /var/log/status-api
chmod 0755 /var/log/status-api
touch /var/log/status-api.stderr

status-api start || true
`,
	"resume.sh": `
#!/bin/bash
# Runs as root when the sandbox is restored after being idle: processes do
# not survive hibernation, so start the service again exactly as it is
# configured now (if the candidate has not fixed it yet, it dies again).
status-api start || true
`,
	"checks/log-dir-owned.sh": `
#!/bin/bash
# Runs in the trusted grader container, never in the sandbox: the sandbox's
# filesystem is at $SANDBOX_ROOT. User names are resolved with the sandbox's
# /etc/passwd, not the grader's.
set -u
dir="$SANDBOX_ROOT/var/log/status-api"
if [ -L "$dir" ] || [ ! -d "$dir" ]; then
  echo "/var/log/status-api is not a directory"
  exit 1
fi
want=$(awk -F: '$1 == "statusapi" { print $3 }' "$SANDBOX_ROOT/etc/passwd")
if [ -z "$want" ]; then
  echo "the statusapi user is gone"
  exit 1
fi
read -r uid mode < <(stat -c '%u %a' "$dir")
if [ "$uid" != "$want" ]; then
  echo "/var/log/status-api is owned by uid $uid, not by statusapi"
  exit 1
fi
if (( 8#$mode & 8#002 )); then
  echo "/var/log/status-api is world-writable (mode $mode)"
  exit 1
fi
echo "/var/log/status-api belongs to statusapi (mode $mode)"
`,
	"solution.sh": `
#!/bin/bash
# Reference solution: give the log directory to the service user, restart.
set -euo pipefail
chown statusapi:statusapi /var/log/status-api
chmod 0755 /var/log/status-api
status-api restart
`,
	"wrong/restart-only.sh": `
#!/bin/bash
# Wrong: restarting does not fix the permissions, the API dies again.
status-api restart || true
`,
	"wrong/chmod-777.sh": `
#!/bin/bash
# Wrong: the API starts, but anyone can now write (and forge) its logs.
set -e
chmod 0777 /var/log/status-api
status-api restart
`,
}

var dockerfileScaffold = map[string]string{
	"challenge.yaml": `
# yaml-language-server: $schema={{SCHEMA}}
id: {{ID}}
title: Make the API's Dockerfile production-ready
kind: dockerfile
difficulty: easy
time_limit: 25m
tags: [docker, security]
description: |
  ¦/workspace/Dockerfile¦ builds a tiny Python API (¦/workspace/app.py¦,
  standard library only, listening on port 8000). It works, but it would
  not pass review:

  - it runs as root,
  - its base image is not pinned,
  - it has no health check (the API serves ¦/healthz¦),
  - it bakes a token into the image,
  - its CMD does not receive signals.

  Fix the Dockerfile. The image must still build **without network access**
  and answer ¦GET /healthz¦ with 200. The token is given at run time as
  ¦API_TOKEN¦.
sandbox:
  image: opsdojo/shell
  resources: {cpus: 1, memory: 512Mi, pids: 256}
  network: none
files:
  - path: /workspace/Dockerfile
    starter: starter/Dockerfile
    language: dockerfile
  - path: /workspace/app.py
    starter: starter/app.py
    language: python
checks:
  - id: dockerfile-rules
    title: non-root, pinned base, HEALTHCHECK, no baked secret, exec-form CMD
    type: dockerfile
    path: /workspace/Dockerfile
    rules: [DF001, DF002, DF003, DF005, DF007]
    points: 60
  - id: builds-and-serves
    title: the image builds offline and serves /healthz
    type: docker_build
    context: /workspace
    network: false
    build_timeout: 3m
    max_image_size: 600Mi
    run:
      port: 8000
      http_path: /healthz
      expect_status: 200
    points: 40
    timeout: 4m
hints:
  - text: "¦python:latest¦ moves under your feet. Which tag would you pin?"
    cost: 5
  - text: A Dockerfile can create a user with ¦RUN useradd¦ and switch to it with ¦USER¦.
    cost: 10
solution: solution.sh
wrong_fixes:
  - wrong/keeps-token.sh
`,
	"starter/Dockerfile": `
FROM python:latest
ENV API_TOKEN=changeme
WORKDIR /app
COPY app.py .
EXPOSE 8000
CMD python app.py
`,
	"starter/app.py": `
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            status, body = 200, b"ok\n"
        elif self.path == "/api/whoami":
            status = 200
            body = ("token set\n" if os.environ.get("API_TOKEN") else "no token\n").encode()
        else:
            status, body = 404, b"not found\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
`,
	"solution.sh": `
#!/bin/bash
# Reference solution: pinned slim base, non-root user, health check,
# no baked token, exec-form CMD.
set -euo pipefail
cat > /workspace/Dockerfile <<'EOF'
FROM python:3.11-slim
WORKDIR /app
COPY app.py .
RUN useradd --system --uid 10001 --no-create-home app
USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "app.py"]
EOF
`,
	"wrong/keeps-token.sh": `
#!/bin/bash
# Wrong: everything but the baked-in token is fixed.
set -euo pipefail
cat > /workspace/Dockerfile <<'EOF'
FROM python:3.11-slim
ENV API_TOKEN=changeme
WORKDIR /app
COPY app.py .
RUN useradd --system --uid 10001 --no-create-home app
USER app
EXPOSE 8000
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "app.py"]
EOF
`,
}

var terraformScaffold = map[string]string{
	"challenge.yaml": `
# yaml-language-server: $schema={{SCHEMA}}
id: {{ID}}
title: Lock down the logs bucket
kind: terraform
difficulty: medium
time_limit: 30m
tags: [terraform, aws, security]
description: |
  ¦/workspace/infra¦ holds the Terraform for a logs bucket and a bastion
  security group. A security review found problems. Fix them **in the
  code** (nothing is applied; the checks read your .tf files):

  1. the bucket must not be public,
  2. objects must be encrypted with KMS (¦aws:kms¦),
  3. SSH must not be open to the whole internet,
  4. ¦var.environment¦ must only accept ¦dev¦, ¦staging¦ or ¦prod¦,
  5. export the bucket ARN as the output ¦bucket_arn¦,
  6. the files must be ¦terraform fmt¦ clean.
sandbox:
  image: opsdojo/shell
  resources: {cpus: 0.5, memory: 256Mi}
files:
  - path: /workspace/infra/main.tf
    starter: starter/main.tf
  - path: /workspace/infra/variables.tf
    starter: starter/variables.tf
  - path: /workspace/infra/outputs.tf
    starter: starter/outputs.tf
checks:
  - id: not-public
    title: no public bucket ACL, no SSH from the internet
    type: terraform
    dir: /workspace/infra
    forbid: [public-acl, ssh-open-to-world]
    points: 40
  - id: encrypted
    title: the bucket is encrypted with KMS
    type: terraform
    dir: /workspace/infra
    resources:
      - type: aws_s3_bucket_server_side_encryption_configuration
        attributes:
          rule.apply_server_side_encryption_by_default.sse_algorithm: "aws:kms"
        present: [rule.apply_server_side_encryption_by_default.kms_master_key_id]
    points: 30
  - id: inputs-outputs
    title: environment is validated and the bucket ARN is an output
    type: terraform
    dir: /workspace/infra
    variables:
      - name: environment
        type: string
        validation: true
    outputs: [bucket_arn]
    points: 20
  - id: fmt
    title: terraform fmt finds nothing to change
    type: terraform
    dir: /workspace/infra
    fmt: true
    points: 10
hints:
  - text: Since AWS provider v4, encryption is its own resource, aws_s3_bucket_server_side_encryption_configuration.
    cost: 10
  - text: A variable block can hold a ¦validation { condition = … }¦ block.
    cost: 5
solution: solution.sh
wrong_fixes:
  - wrong/ssh-still-open.sh
`,
	"starter/main.tf": `
provider "aws" {
  region = "eu-west-1"
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs-${var.environment}"
  acl = "public-read"
}

resource "aws_security_group" "bastion" {
  name        = "bastion-${var.environment}"
  description = "SSH to the bastion"

  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`,
	"starter/variables.tf": `
variable "environment" {
  type        = string
  description = "deployment environment"
}

variable "admin_cidr" {
  type        = string
  description = "network allowed to reach the bastion over SSH"
  default     = "10.20.0.0/16"
}
`,
	"starter/outputs.tf": `
# Outputs of this configuration.
`,
	"solution.sh": `
#!/bin/bash
# Reference solution: private bucket with KMS encryption, SSH only from the
# admin network, validated environment, bucket_arn output, fmt-clean.
set -euo pipefail
cd /workspace/infra
cat > main.tf <<'EOF'
provider "aws" {
  region = "eu-west-1"
}

resource "aws_kms_key" "logs" {
  description         = "logs bucket key"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs-${var.environment}"
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.logs.arn
    }
  }
}

resource "aws_security_group" "bastion" {
  name        = "bastion-${var.environment}"
  description = "SSH to the bastion"

  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.admin_cidr]
  }
}
EOF
cat > variables.tf <<'EOF'
variable "environment" {
  type        = string
  description = "deployment environment"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "admin_cidr" {
  type        = string
  description = "network allowed to reach the bastion over SSH"
  default     = "10.20.0.0/16"
}
EOF
cat > outputs.tf <<'EOF'
output "bucket_arn" {
  value = aws_s3_bucket.logs.arn
}
EOF
`,
	"wrong/ssh-still-open.sh": `
#!/bin/bash
# Wrong: the bucket is fixed but SSH is still open to the world.
set -euo pipefail
cd /workspace/infra
cat > main.tf <<'EOF'
provider "aws" {
  region = "eu-west-1"
}

resource "aws_kms_key" "logs" {
  description = "logs bucket key"
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs-${var.environment}"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.logs.arn
    }
  }
}

resource "aws_security_group" "bastion" {
  name = "bastion-${var.environment}"

  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
EOF
cat > variables.tf <<'EOF'
variable "environment" {
  type = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "admin_cidr" {
  type    = string
  default = "10.20.0.0/16"
}
EOF
cat > outputs.tf <<'EOF'
output "bucket_arn" {
  value = aws_s3_bucket.logs.arn
}
EOF
`,
}
