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
