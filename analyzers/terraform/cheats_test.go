package terraform

import (
	"strings"
	"testing"
)

// TestCheatsDoNotSatisfyAssertions: the Terraform shortcuts that scored full
// marks with the natural assertions (issue #15) fail them now, and their
// honest counterparts still pass.
func TestCheatsDoNotSatisfyAssertions(t *testing.T) {
	t.Parallel()
	bucket := ResourceAssertion{Type: "aws_s3_bucket_public_access_block"}
	tests := []struct {
		name string
		src  string
		a    Assertions
		want string // substring of the only finding; "" = passes
	}{
		{"count zero", `resource "aws_s3_bucket_public_access_block" "b" {
  count  = 0
  bucket = "x"
}`, Assertions{Resources: []ResourceAssertion{bucket}}, "count = 0: it creates no instance"},
		{"count from local zero", `locals {
  enabled = false
}
resource "aws_s3_bucket_public_access_block" "b" {
  count  = local.enabled ? 1 : 0
  bucket = "x"
}`, Assertions{Resources: []ResourceAssertion{bucket}}, "creates no instance"},
		{"count from variable default zero", `variable "n" {
  default = 0
}
resource "aws_s3_bucket_public_access_block" "b" {
  count  = var.n
  bucket = "x"
}`, Assertions{Resources: []ResourceAssertion{bucket}}, "creates no instance"},
		{"empty for_each", `resource "aws_s3_bucket_public_access_block" "b" {
  for_each = toset([])
  bucket   = each.key
}`, Assertions{Resources: []ResourceAssertion{bucket}}, "for_each = toset([])"},
		{"empty for_each map local", `locals {
  buckets = {}
}
resource "aws_s3_bucket_public_access_block" "b" {
  for_each = local.buckets
  bucket   = each.key
}`, Assertions{Resources: []ResourceAssertion{bucket}}, "creates no instance"},
		{"count one passes", `resource "aws_s3_bucket_public_access_block" "b" {
  count  = 1
  bucket = "x"
}`, Assertions{Resources: []ResourceAssertion{bucket}}, ""},
		{"count unknown passes", `variable "n" {
  type = number
}
resource "aws_s3_bucket_public_access_block" "b" {
  count  = var.n
  bucket = "x"
}`, Assertions{Resources: []ResourceAssertion{bucket}}, ""},
		{"for_each set passes", `resource "aws_s3_bucket_public_access_block" "b" {
  for_each = toset(["a"])
  bucket   = each.key
}`, Assertions{Resources: []ResourceAssertion{bucket}}, ""},

		{"validation condition true", `variable "env" {
  type = string
  validation {
    condition     = true
    error_message = "x"
  }
}`, Assertions{Variables: []VariableAssertion{{Name: "env", Validation: true}}}, "validates nothing: its condition true does not depend on var.env"},
		{"validation about something else", `variable "other" {
  type = string
}
variable "env" {
  type = string
  validation {
    condition     = length("abc") > 0
    error_message = "x"
  }
}`, Assertions{Variables: []VariableAssertion{{Name: "env", Validation: true}}}, "does not depend on var.env"},
		{"validation real", `variable "env" {
  type = string
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "x"
  }
}`, Assertions{Variables: []VariableAssertion{{Name: "env", Validation: true}}}, ""},

		{"tags empty local", `locals {
  empty = {}
}
resource "aws_s3_bucket" "b" {
  bucket = "x"
  tags   = local.empty
}`, Assertions{RequireTags: true}, "has no tags (its tags are an empty map)"},
		{"tags empty local required keys", `locals {
  empty = {}
}
resource "aws_s3_bucket" "b" {
  bucket = "x"
  tags   = local.empty
}`, Assertions{RequiredTagKeys: []string{"Owner"}}, "has no tags"},
		{"tags local lacks key", `locals {
  tags = { Team = "a" }
}
resource "aws_s3_bucket" "b" {
  bucket = "x"
  tags   = merge(local.tags, { Name = "b" })
}`, Assertions{RequiredTagKeys: []string{"Owner"}}, "tags lack Owner"},
		{"tags local has key", `locals {
  tags = { Owner = "platform" }
}
resource "aws_s3_bucket" "b" {
  bucket = "x"
  tags   = merge(local.tags, { Name = "b" })
}`, Assertions{RequiredTagKeys: []string{"Owner"}}, ""},
		{"default tags from empty local", `locals {
  none = {}
}
provider "aws" {
  default_tags {
    tags = local.none
  }
}
resource "aws_s3_bucket" "b" {
  bucket = "x"
}`, Assertions{RequiredTagKeys: []string{"Owner"}}, "tags lack Owner"},
		{"tags unknown benefit of doubt", `variable "tags" {
  type = map(string)
}
resource "aws_s3_bucket" "b" {
  bucket = "x"
  tags   = var.tags
}`, Assertions{RequiredTagKeys: []string{"Owner"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Check(map[string][]byte{"main.tf": []byte(tc.src + "\n")}, tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.OK() {
					t.Fatalf("findings %v, want none", rep.Findings)
				}
				return
			}
			if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, tc.want) {
				t.Fatalf("findings %v, want one saying %q", rep.Findings, tc.want)
			}
		})
	}
}

// TestTagKeysThroughLocalsWithUnknownValues: keys of a local merged from a
// variable without default and literal tags are known even though a value
// is not.
func TestTagKeysThroughLocalsWithUnknownValues(t *testing.T) {
	t.Parallel()
	src := `variable "environment" {
  type = string
}
variable "tags" {
  type    = map(string)
  default = {}
}
locals {
  tags = merge(var.tags, {
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
resource "aws_s3_bucket" "this" {
  bucket = "x"
  tags   = local.tags
}
`
	for keys, want := range map[string]string{"Environment,ManagedBy": "", "Owner": "tags lack Owner"} {
		rep, err := Check(map[string][]byte{"main.tf": []byte(src)}, Assertions{RequiredTagKeys: strings.Split(keys, ",")})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case want == "" && !rep.OK():
			t.Errorf("keys %s: findings %v, want none", keys, rep.Findings)
		case want != "" && (len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0].Message, want)):
			t.Errorf("keys %s: findings %v, want %q", keys, rep.Findings, want)
		}
	}
}
