#!/bin/bash
# Wrong: a clean for_each, but without moved blocks: the next apply destroys
# the three live queues (and their messages) and creates new ones.
set -euo pipefail
cd /workspace/queues
cat > main.tf <<'EOT'
provider "aws" {
  region = "eu-west-1"
}

resource "aws_sqs_queue" "queue" {
  for_each = var.queues

  name                       = "${var.prefix}-${each.key}"
  visibility_timeout_seconds = each.value.visibility_timeout_seconds
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true

  tags = {
    Team    = "checkout"
    Service = each.key
  }
}

moved {
  from = aws_sqs_queue.orders
  to   = aws_sqs_queue.queue["orders"]
}

moved {
  from = aws_sqs_queue.invoices
  to   = aws_sqs_queue.queue["invoices"]
}

moved {
  from = aws_sqs_queue.emails
  to   = aws_sqs_queue.queue["emails"]
}
EOT
cat > variables.tf <<'EOT'
variable "prefix" {
  type        = string
  description = "name prefix of every queue, e.g. prod-shop"
}

variable "queues" {
  type = map(object({
    visibility_timeout_seconds = number
  }))
  description = "queues by short name"
  default = {
    orders   = { visibility_timeout_seconds = 60 }
    invoices = { visibility_timeout_seconds = 300 }
    emails   = { visibility_timeout_seconds = 30 }
  }
}
EOT
cat > outputs.tf <<'EOT'
output "queue_urls" {
  value = { for k, q in aws_sqs_queue.queue : k => q.url }
}
EOT
cd /workspace/queues
python3 - <<'PY'
import re
s = open("main.tf").read()
s = re.sub(r"\nmoved \{.*?\n\}\n", "", s, flags=re.S)
open("main.tf", "w").write(s)
PY
