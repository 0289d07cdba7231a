output "queue_urls" {
  value = {
    orders   = aws_sqs_queue.orders.url
    invoices = aws_sqs_queue.invoices.url
    emails   = aws_sqs_queue.emails.url
  }
}
