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
  acl    = "public-read"
}

resource "aws_s3_bucket_public_access_block" "uploads" {
  bucket                  = aws_s3_bucket.uploads.id
  block_public_acls       = false
  block_public_policy     = false
  ignore_public_acls      = false
  restrict_public_buckets = false
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
    description = "SSH for ops"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
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
  password            = "Sup3rS3cret!"
  storage_encrypted   = false
  publicly_accessible = true
  skip_final_snapshot = true
}

resource "aws_ebs_volume" "media_cache" {
  availability_zone = "eu-central-1a"
  size              = 100
  type              = "gp3"
  encrypted         = false
}
