variable "environment" {
  type        = string
  description = "deployment environment"
}

variable "admin_cidr" {
  type        = string
  description = "network allowed to reach the bastion over SSH"
  default     = "10.20.0.0/16"
}
