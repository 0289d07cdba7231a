#!/bin/bash
# Log in as deploy with the CI pipeline's key (which never enters the
# sandbox) and read the current build, as the pipeline does. The key pair
# was made for this lab and authorises nothing outside its sandboxes.
set -u
key=$(mktemp)
trap 'rm -f "$key"' EXIT
chmod 600 "$key"
cat > "$key" <<'EOT'
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBTgEp6wHhyrIVFnvWTlpS1w6POb9klApD/BMEqpAW7FwAAAJCov9UXqL/V
FwAAAAtzc2gtZWQyNTUxOQAAACBTgEp6wHhyrIVFnvWTlpS1w6POb9klApD/BMEqpAW7Fw
AAAECfpQ1vUWpJ6xrM1/KuKrf15YPO0OlrerRSZZtHR4SRq1OASnrAeHKshUWe9ZOWlLXD
o85v2SUCkP8EwSqkBbsXAAAACWRlcGxveS1jaQECAwQ=
-----END OPENSSH PRIVATE KEY-----
EOT
out=$(ssh -i "$key" -p "${SSH_PORT}" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
  -o UserKnownHostsFile=/dev/null -o ConnectTimeout=4 -o LogLevel=ERROR \
  deploy@127.0.0.1 'cat releases/CURRENT' 2>&1)
code=$?
if [ $code != 0 ]; then
  echo "the CI key still cannot log in as deploy on port ${SSH_PORT}: $(printf '%s' "$out" | tail -n 1)"
  exit 1
fi
if [[ "$out" != *"${DEPLOY_BUILD}"* ]]; then
  echo "deploy can log in, but releases/CURRENT does not hold the current build any more"
  exit 1
fi
echo "the CI key logs in as deploy and reads the current build"
