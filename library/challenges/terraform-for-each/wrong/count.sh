#!/bin/bash
# Wrong: count over a list: instances are keyed by position, so inserting a
# queue in the middle renames (recreates) every queue after it.
set -euo pipefail
cd /workspace/queues
cat > main.tf <<'EOT'
provider "aws" {
  region = "eu-west-1"
}

locals {
  names    = ["orders", "invoices", "emails"]
  timeouts = [60, 300, 30]
}

resource "aws_sqs_queue" "queue" {
  count = length(local.names)

  name                       = "${var.prefix}-${local.names[count.index]}"
  visibility_timeout_seconds = local.timeouts[count.index]
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true

  tags = {
    Team    = "checkout"
    Service = local.names[count.index]
  }
}

moved {
  from = aws_sqs_queue.orders
  to   = aws_sqs_queue.queue[0]
}

moved {
  from = aws_sqs_queue.invoices
  to   = aws_sqs_queue.queue[1]
}

moved {
  from = aws_sqs_queue.emails
  to   = aws_sqs_queue.queue[2]
}
EOT
cat > outputs.tf <<'EOT'
output "queue_urls" {
  value = { for i, q in aws_sqs_queue.queue : local.names[i] => q.url }
}
EOT
