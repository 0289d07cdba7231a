#!/bin/bash
# Wrong: moves the password into a variable — with the same literal as its
# default, so it is still in the repository. Everything else is fixed.
set -euo pipefail
cd /workspace/infra
python3 - <<'PY'
import re
s = open("main.tf").read()
s = s.replace('  acl    = "public-read"\n', "")
s = re.sub(r"(block_public_acls|block_public_policy|ignore_public_acls|restrict_public_buckets)(\s*)= false", r"\1\2= true", s)
s = s.replace('cidr_blocks = ["0.0.0.0/0"]\n  }\n\n  egress', 'cidr_blocks = [var.ops_cidr]\n  }\n\n  egress')
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
  default   = "Sup3rS3cret!"
}
''')
PY
