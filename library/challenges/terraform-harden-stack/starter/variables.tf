variable "environment" {
  type        = string
  description = "deployment environment (dev, staging, prod)"
}

variable "vpc_id" {
  type        = string
  description = "VPC of the web servers"
}

variable "ops_cidr" {
  type        = string
  description = "the ops team's VPN range, the only network allowed to SSH"
  default     = "10.42.0.0/16"
}
