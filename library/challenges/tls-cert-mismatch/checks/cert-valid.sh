#!/bin/bash
# Verify the certificate nginx presents against the internal CA held HERE
# (the sandbox's copy of the CA could have been replaced), for the name
# shop.internal, at the current time.
set -u
cat > /tmp/acme-ca.pem <<'EOT'
-----BEGIN CERTIFICATE-----
MIIB0jCCAXegAwIBAgIUb6ziFAlKQmX4f0EiVCvGBZjQN7gwCgYIKoZIzj0EAwIw
PTEWMBQGA1UECgwNQWNtZSBJbnRlcm5hbDEjMCEGA1UEAwwaQWNtZSBJbnRlcm5h
bCBSb290IENBIDIwMjQwIBcNMjYxMTI1MjI0NzIzWhgPMjEyNjExMDEyMjQ3MjNa
MD0xFjAUBgNVBAoMDUFjbWUgSW50ZXJuYWwxIzAhBgNVBAMMGkFjbWUgSW50ZXJu
YWwgUm9vdCBDQSAyMDI0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEppgU1rb8
73q+ICtl2L0z7gVkbsWFtqjT2QSle+BGAP6LhK92K/sdv/YwY6mqAhGAL+8jBtFp
/n5wB7WL31bLc6NTMFEwHQYDVR0OBBYEFPAW9m1WBt3AiQ4ijgfVGz/KJimMMB8G
A1UdIwQYMBaAFPAW9m1WBt3AiQ4ijgfVGz/KJimMMA8GA1UdEwEB/wQFMAMBAf8w
CgYIKoZIzj0EAwIDSQAwRgIhAO0qXmONawguXGkg8FjZAN58GhKRD6dSkAUP9dpJ
cjlcAiEA6Wp7b+uz2kkXdEEQ+Hu5mcdofc6ZOMvGmoCqWpqktUc=
-----END CERTIFICATE-----
EOT
out=$(timeout 4 openssl s_client -connect 127.0.0.1:8443 -servername shop.internal \
  -CAfile /tmp/acme-ca.pem -verify_hostname shop.internal -verify_return_error </dev/null 2>&1)
leaf=$(sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' <<<"$out")
if [ -z "$leaf" ]; then
  reason=$(grep -m1 -E 'verify error|error' <<<"$out")
  echo "the certificate on :8443 does not verify against the internal CA: ${reason:-no TLS handshake}"; exit 1
fi
if ! grep -q 'Verify return code: 0 (ok)' <<<"$out"; then
  echo "the served certificate is not valid: $(grep -m1 'Verify return code' <<<"$out")"; exit 1
fi
echo "the served certificate is valid for shop.internal until $(openssl x509 -noout -enddate <<<"$leaf" | cut -d= -f2)"
