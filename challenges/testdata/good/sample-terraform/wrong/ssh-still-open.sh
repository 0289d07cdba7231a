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
