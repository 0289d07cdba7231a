#!/bin/bash
# Reference solution.
set -euo pipefail
cd /workspace/infra
cat > main.tf <<'EOT'
provider "aws" {
  region = "eu-central-1"

  default_tags {
    tags = {
      Project = "storefront"
      Owner   = "platform-team"
    }
  }
}

# Customer uploads (invoices, avatars).
resource "aws_s3_bucket" "uploads" {
  bucket = "storefront-uploads-${var.environment}"
}

resource "aws_s3_bucket_public_access_block" "uploads" {
  bucket                  = aws_s3_bucket.uploads.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_kms_key" "storefront" {
  description         = "storefront data at rest"
  enable_key_rotation = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.storefront.arn
    }
    bucket_key_enabled = true
  }
}

# Web servers: HTTPS for customers, SSH for the ops team.
resource "aws_security_group" "web" {
  name        = "storefront-web-${var.environment}"
  description = "storefront web servers"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTPS from customers"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "SSH from the ops VPN"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.ops_cidr]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_db_instance" "orders" {
  identifier          = "storefront-orders-${var.environment}"
  engine              = "postgres"
  engine_version      = "16.3"
  instance_class      = "db.t4g.medium"
  allocated_storage   = 50
  username            = "storefront"
  password            = var.db_password
  storage_encrypted   = true
  kms_key_id          = aws_kms_key.storefront.arn
  publicly_accessible = false
  skip_final_snapshot = true
}

resource "aws_ebs_volume" "media_cache" {
  availability_zone = "eu-central-1a"
  size              = 100
  type              = "gp3"
  encrypted         = true
  kms_key_id        = aws_kms_key.storefront.arn
}
EOT
cat >> variables.tf <<'EOT'

variable "db_password" {
  type        = string
  description = "master password of the orders database (from the secret store at apply time)"
  sensitive   = true
}
EOT
