#!/bin/bash
# Wrong: "closes" SSH by deleting every ingress rule — customers lose HTTPS.
# Everything else is fixed.
set -euo pipefail
cd /workspace/infra
python3 - <<'PY'
import re
s = open("main.tf").read()
s = s.replace('  acl    = "public-read"\n', "")
s = s.replace("= false\n  ignore", "= true\n  ignore")
s = re.sub(r"(block_public_acls|block_public_policy|ignore_public_acls|restrict_public_buckets)(\s*)= false", r"\1\2= true", s)
s = re.sub(r"\n  ingress \{.*?\n  \}\n", "\n", s, flags=re.S)
s = s.replace('password            = "Sup3rS3cret!"', "password            = var.db_password")
s = s.replace("storage_encrypted   = false", "storage_encrypted   = true")
s = s.replace("publicly_accessible = true", "publicly_accessible = false")
s = s.replace("encrypted         = false", "encrypted         = true")
s += '''
resource "aws_s3_bucket_server_side_encryption_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}
'''
open("main.tf", "w").write(s)
open("variables.tf", "a").write('''
variable "db_password" {
  type      = string
  sensitive = true
}
''')
PY
