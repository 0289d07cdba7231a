provider "aws" {
  region = "eu-west-1"
}

resource "aws_sqs_queue" "orders" {
  name                       = "${var.prefix}-orders"
  visibility_timeout_seconds = 60
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true

  tags = {
    Team    = "checkout"
    Service = "orders"
  }
}

resource "aws_sqs_queue" "invoices" {
  name                       = "${var.prefix}-invoices"
  visibility_timeout_seconds = 300
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true

  tags = {
    Team    = "checkout"
    Service = "invoices"
  }
}

resource "aws_sqs_queue" "emails" {
  name                       = "${var.prefix}-emails"
  visibility_timeout_seconds = 30
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true

  tags = {
    Team    = "checkout"
    Service = "emails"
  }
}
