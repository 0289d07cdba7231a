variable "prefix" {
  type        = string
  description = "name prefix of every queue, e.g. prod-shop"
}
