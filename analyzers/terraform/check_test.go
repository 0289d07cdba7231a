package terraform

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const goodMain = `variable "environment" {
  type        = string
  description = "deployment environment"

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "db_password" {
  type      = string
  sensitive = true
}

provider "aws" {
  region = "eu-west-1"
}

resource "aws_kms_key" "logs" {
  description = "logs"
  tags = {
    Owner       = "platform"
    Environment = var.environment
  }
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs-${var.environment}"
  tags = {
    Owner       = "platform"
    Environment = var.environment
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.logs.arn
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  tags = {
    Owner       = "platform"
    Environment = var.environment
  }
}

output "bucket_arn" {
  value = aws_s3_bucket.logs.arn
}
`

// with replaces old by new in goodMain (exactly once).
func with(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(goodMain, old) != 1 {
		t.Fatalf("fixture edit %q matches %d times", old, strings.Count(goodMain, old))
	}
	return strings.Replace(goodMain, old, new, 1)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sse := "rule.apply_server_side_encryption_by_default.sse_algorithm"
	tests := []struct {
		name  string
		files map[string]string
		a     Assertions
		want  []string // "rule@file:line"
	}{
		{"good all", map[string]string{"main.tf": goodMain}, Assertions{
			Resources: []ResourceAssertion{
				{Type: "aws_s3_bucket", Name: "logs", Present: []string{"tags"}, Absent: []string{"acl"}},
				{Type: "aws_s3_bucket_server_side_encryption_configuration", Attributes: map[string]string{sse: "aws:kms", "rule.apply_server_side_encryption_by_default.kms_master_key_id": "aws_kms_key.logs.arn", "bucket": "aws_s3_bucket.logs.id"}},
				{Type: "aws_kms_key", Attributes: map[string]string{"tags.Owner": "platform"}},
			},
			Variables:       []VariableAssertion{{Name: "environment", Type: "string", Validation: true}, {Name: "db_password", Sensitive: true}},
			Outputs:         []string{"bucket_arn"},
			Fmt:             true,
			Forbid:          []string{"ssh-open-to-world", "public-acl", "s3-public-access", "hardcoded-secret", "iam-wildcard-action"},
			RequireTags:     true,
			RequiredTagKeys: []string{"Owner", "Environment"},
		}, nil},
		{"syntax error", map[string]string{"main.tf": "resource \"a\" \"b\" {\n  x = \n}\n"}, Assertions{}, []string{"syntax@main.tf:2"}},
		{"syntax error second file", map[string]string{"a.tf": goodMain, "b.tf": "variable \"x\" {\n\n  type = = string\n}\n"}, Assertions{}, []string{"syntax@b.tf:3"}},
		{"no tf files", map[string]string{"README.md": "x"}, Assertions{}, []string{"syntax@:0"}},
		{"non-tf ignored", map[string]string{"main.tf": goodMain, "notes.txt": "resource {"}, Assertions{}, nil},
		{"missing resource", map[string]string{"main.tf": goodMain}, Assertions{Resources: []ResourceAssertion{{Type: "aws_dynamodb_table"}}}, []string{"resource@main.tf:0"}},
		{"missing named resource", map[string]string{"main.tf": goodMain}, Assertions{Resources: []ResourceAssertion{{Type: "aws_s3_bucket", Name: "data"}}}, []string{"resource@main.tf:0"}},
		{"attribute differs", map[string]string{"main.tf": with(t, `"aws:kms"`, `"AES256"`)}, Assertions{Resources: []ResourceAssertion{{Type: "aws_s3_bucket_server_side_encryption_configuration", Attributes: map[string]string{sse: "aws:kms"}}}}, []string{"resource@main.tf:41"}},
		{"attribute missing", map[string]string{"main.tf": goodMain}, Assertions{Resources: []ResourceAssertion{{Type: "aws_s3_bucket", Attributes: map[string]string{"force_destroy": "false"}}}}, []string{"resource@main.tf:28"}},
		{"nested block missing", map[string]string{"main.tf": goodMain}, Assertions{Resources: []ResourceAssertion{{Type: "aws_s3_bucket", Present: []string{"versioning"}}}}, []string{"resource@main.tf:28"}},
		{"absent present", map[string]string{"main.tf": with(t, `bucket = "acme-logs-${var.environment}"`, `bucket = "acme-logs-${var.environment}"
  acl    = "private"`)}, Assertions{Resources: []ResourceAssertion{{Type: "aws_s3_bucket", Absent: []string{"acl"}}}}, []string{"resource@main.tf:30"}},
		{"number and bool compare", map[string]string{"main.tf": goodMain}, Assertions{Resources: []ResourceAssertion{{Type: "aws_security_group", Attributes: map[string]string{"ingress.from_port": "22"}}, {Type: "aws_s3_bucket_public_access_block", Attributes: map[string]string{"block_public_acls": "true"}}}}, nil},
		{"any candidate may satisfy", map[string]string{"main.tf": goodMain + "resource \"aws_s3_bucket\" \"other\" {\n  bucket = \"x\"\n}\n"}, Assertions{Resources: []ResourceAssertion{{Type: "aws_s3_bucket", Attributes: map[string]string{"bucket": "x"}}}}, nil},
		{"variable missing", map[string]string{"main.tf": goodMain}, Assertions{Variables: []VariableAssertion{{Name: "region"}}}, []string{"variable@main.tf:0"}},
		{"variable wrong type", map[string]string{"main.tf": goodMain}, Assertions{Variables: []VariableAssertion{{Name: "environment", Type: "list(string)"}}}, []string{"variable@main.tf:2"}},
		{"variable type whitespace", map[string]string{"main.tf": "variable \"l\" {\n  type = list( string )\n}\n"}, Assertions{Variables: []VariableAssertion{{Name: "l", Type: "list(string)"}}}, nil},
		{"variable no validation", map[string]string{"main.tf": goodMain}, Assertions{Variables: []VariableAssertion{{Name: "db_password", Validation: true}}}, []string{"variable@main.tf:11"}},
		{"variable not sensitive", map[string]string{"main.tf": goodMain}, Assertions{Variables: []VariableAssertion{{Name: "environment", Sensitive: true}}}, []string{"variable@main.tf:1"}},
		{"variable untyped", map[string]string{"main.tf": "variable \"x\" {}\n"}, Assertions{Variables: []VariableAssertion{{Name: "x", Type: "string"}}}, []string{"variable@main.tf:1"}},
		{"output missing", map[string]string{"main.tf": goodMain}, Assertions{Outputs: []string{"bucket_arn", "bucket_name"}}, []string{"output@main.tf:0"}},
		{"output in other file", map[string]string{"main.tf": goodMain, "outputs.tf": "output \"bucket_name\" {\n  value = aws_s3_bucket.logs.bucket\n}\n"}, Assertions{Outputs: []string{"bucket_name"}}, nil},
		{"fmt bad indent", map[string]string{"main.tf": with(t, "  name = \"web\"", "name = \"web\"")}, Assertions{Fmt: true}, []string{"fmt@main.tf:56"}},
		{"fmt bad alignment", map[string]string{"main.tf": with(t, "  bucket                  = aws_s3_bucket.logs.id\n  block_public_acls", "  bucket = aws_s3_bucket.logs.id\n  block_public_acls")}, Assertions{Fmt: true}, []string{"fmt@main.tf:48"}},
		{"ssh open", map[string]string{"main.tf": with(t, `["10.0.0.0/8"]`, `["0.0.0.0/0"]`)}, Assertions{Forbid: []string{"ssh-open-to-world"}}, []string{"ssh-open-to-world@main.tf:63"}},
		{"ssh open ipv6", map[string]string{"main.tf": with(t, `cidr_blocks = ["10.0.0.0/8"]`, `ipv6_cidr_blocks = ["::/0"]`)}, Assertions{Forbid: []string{"ssh-open-to-world"}}, []string{"ssh-open-to-world@main.tf:63"}},
		{"ssh open by range", map[string]string{"main.tf": with(t, `from_port   = 443`, `from_port   = 0`)}, Assertions{Forbid: []string{"ssh-open-to-world"}}, []string{"ssh-open-to-world@main.tf:57"}},
		{"ssh open all protocols", map[string]string{"main.tf": with(t, "from_port   = 443\n    to_port     = 443\n    protocol    = \"tcp\"", "from_port   = 0\n    to_port     = 0\n    protocol    = \"-1\"")}, Assertions{Forbid: []string{"ssh-open-to-world"}}, []string{"ssh-open-to-world@main.tf:57"}},
		{"ssh sg rule resource", map[string]string{"main.tf": "resource \"aws_security_group_rule\" \"ssh\" {\n  type        = \"ingress\"\n  from_port   = 22\n  to_port     = 22\n  protocol    = \"tcp\"\n  cidr_blocks = [\"0.0.0.0/0\"]\n}\n"}, Assertions{Forbid: []string{"ssh-open-to-world"}}, []string{"ssh-open-to-world@main.tf:1"}},
		{"ssh sg egress rule ok", map[string]string{"main.tf": "resource \"aws_security_group_rule\" \"ssh\" {\n  type        = \"egress\"\n  from_port   = 22\n  to_port     = 22\n  protocol    = \"tcp\"\n  cidr_blocks = [\"0.0.0.0/0\"]\n}\n"}, Assertions{Forbid: []string{"ssh-open-to-world"}}, nil},
		{"ssh vpc ingress rule", map[string]string{"main.tf": "resource \"aws_vpc_security_group_ingress_rule\" \"ssh\" {\n  cidr_ipv4   = \"0.0.0.0/0\"\n  from_port   = 22\n  to_port     = 22\n  ip_protocol = \"tcp\"\n}\n"}, Assertions{Forbid: []string{"ssh-open-to-world"}}, []string{"ssh-open-to-world@main.tf:1"}},
		{"open ingress any port", map[string]string{"main.tf": goodMain}, Assertions{Forbid: []string{"open-ingress"}}, []string{"open-ingress@main.tf:57"}},
		{"ssh from var not flagged", map[string]string{"main.tf": with(t, `["10.0.0.0/8"]`, `var.admin_cidrs`)}, Assertions{Forbid: []string{"ssh-open-to-world"}}, nil},
		{"public acl on bucket", map[string]string{"main.tf": with(t, `bucket = "acme-logs-${var.environment}"`, `bucket = "acme-logs-${var.environment}"
  acl    = "public-read"`)}, Assertions{Forbid: []string{"public-acl"}}, []string{"public-acl@main.tf:30"}},
		{"public acl resource", map[string]string{"main.tf": "resource \"aws_s3_bucket_acl\" \"a\" {\n  bucket = \"b\"\n  acl    = \"public-read-write\"\n}\n"}, Assertions{Forbid: []string{"public-acl"}}, []string{"public-acl@main.tf:3"}},
		{"private acl ok", map[string]string{"main.tf": "resource \"aws_s3_bucket_acl\" \"a\" {\n  bucket = \"b\"\n  acl    = \"private\"\n}\n"}, Assertions{Forbid: []string{"public-acl"}}, nil},
		{"public access block off", map[string]string{"main.tf": with(t, "block_public_policy     = true", "block_public_policy     = false")}, Assertions{Forbid: []string{"s3-public-access"}}, []string{"s3-public-access@main.tf:50"}},
		{"public access block unset", map[string]string{"main.tf": "resource \"aws_s3_bucket_public_access_block\" \"a\" {\n  bucket              = \"b\"\n  block_public_acls   = true\n  block_public_policy = true\n  ignore_public_acls  = true\n}\n"}, Assertions{Forbid: []string{"s3-public-access"}}, []string{"s3-public-access@main.tf:1"}},
		{"hardcoded password", map[string]string{"main.tf": "resource \"aws_db_instance\" \"db\" {\n  username = \"admin\"\n  password = \"hunter2\"\n}\n"}, Assertions{Forbid: []string{"hardcoded-secret"}}, []string{"hardcoded-secret@main.tf:3"}},
		{"password from var ok", map[string]string{"main.tf": "resource \"aws_db_instance\" \"db\" {\n  password = var.db_password\n}\n"}, Assertions{Forbid: []string{"hardcoded-secret"}}, nil},
		{"provider secret key", map[string]string{"main.tf": "provider \"aws\" {\n  access_key = \"AKIA\"\n  secret_key = \"abc\"\n}\n"}, Assertions{Forbid: []string{"hardcoded-secret"}}, []string{"hardcoded-secret@main.tf:2", "hardcoded-secret@main.tf:3"}},
		{"variable secret default", map[string]string{"main.tf": "variable \"db_password\" {\n  default = \"hunter2\"\n}\n"}, Assertions{Forbid: []string{"hardcoded-secret"}}, []string{"hardcoded-secret@main.tf:2"}},
		{"iam wildcard jsonencode", map[string]string{"main.tf": "resource \"aws_iam_policy\" \"p\" {\n  policy = jsonencode({\n    Statement = [{ Effect = \"Allow\", Action = \"*\", Resource = \"*\" }]\n  })\n}\n"}, Assertions{Forbid: []string{"iam-wildcard-action"}}, []string{"iam-wildcard-action@main.tf:2"}},
		{"iam policy document", map[string]string{"main.tf": "data \"aws_iam_policy_document\" \"d\" {\n  statement {\n    actions   = [\"*\"]\n    resources = [\"*\"]\n  }\n}\n"}, Assertions{Forbid: []string{"iam-wildcard-action"}}, []string{"iam-wildcard-action@main.tf:3"}},
		{"iam scoped ok", map[string]string{"main.tf": "resource \"aws_iam_policy\" \"p\" {\n  policy = jsonencode({\n    Statement = [{ Effect = \"Allow\", Action = \"s3:GetObject\", Resource = \"*\" }]\n  })\n}\n"}, Assertions{Forbid: []string{"iam-wildcard-action"}}, nil},
		{"tags missing", map[string]string{"main.tf": with(t, "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"acme-logs-${var.environment}\"\n  tags = {\n    Owner       = \"platform\"\n    Environment = var.environment\n  }\n", "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"acme-logs-${var.environment}\"\n")}, Assertions{RequireTags: true}, []string{"tags@main.tf:28"}},
		{"tags key missing", map[string]string{"main.tf": goodMain}, Assertions{RequiredTagKeys: []string{"Owner", "CostCenter"}}, []string{"tags@main.tf:22", "tags@main.tf:30", "tags@main.tf:69"}},
		{"default tags cover", map[string]string{"main.tf": "provider \"aws\" {\n  default_tags {\n    tags = {\n      Owner = \"x\"\n    }\n  }\n}\nresource \"aws_s3_bucket\" \"b\" {\n}\n"}, Assertions{RequiredTagKeys: []string{"Owner"}}, nil},
		{"tags merge benefit of doubt", map[string]string{"main.tf": "resource \"aws_s3_bucket\" \"b\" {\n  tags = merge(local.tags, {})\n}\n"}, Assertions{RequiredTagKeys: []string{"Owner"}}, nil},
		{"untaggable ignored", map[string]string{"main.tf": "resource \"aws_s3_bucket_policy\" \"b\" {\n  bucket = \"x\"\n}\n"}, Assertions{RequireTags: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string][]byte{}
			for k, v := range tt.files {
				files[k] = []byte(v)
			}
			rep, err := Check(files, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, fmt.Sprintf("%s@%s:%d", f.Rule, f.File, f.Line))
				if f.Message == "" {
					t.Errorf("empty message in %+v", f)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings = %v, want %v", got, want)
				for _, f := range rep.Findings {
					t.Log(f)
				}
			}
		})
	}
}

func TestCheckUnknownForbid(t *testing.T) {
	t.Parallel()
	if _, err := Check(map[string][]byte{"main.tf": []byte("")}, Assertions{Forbid: []string{"nope"}}); err == nil {
		t.Fatal("want error")
	}
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	fs := SyntaxErrors("x.tf", []byte("resource \"a\" \"b\" {\n  x = [1,\n}\n"))
	if len(fs) == 0 || fs[0].File != "x.tf" || fs[0].Line == 0 || fs[0].Col == 0 {
		t.Fatalf("SyntaxErrors = %v", fs)
	}
	if fs := SyntaxErrors("ok.tf", []byte(goodMain)); len(fs) != 0 {
		t.Fatalf("good file: %v", fs)
	}
}
