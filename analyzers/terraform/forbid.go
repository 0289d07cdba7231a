package terraform

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

type forbidRule struct {
	title string
	check func(*module) []Finding
}

var forbidRules = map[string]forbidRule{
	"ssh-open-to-world":   {"security group ingress open to 0.0.0.0/0 or ::/0 on port 22", func(m *module) []Finding { return m.openIngress("ssh-open-to-world", 22) }},
	"open-ingress":        {"security group ingress open to 0.0.0.0/0 or ::/0 on any port", func(m *module) []Finding { return m.openIngress("open-ingress", -1) }},
	"public-acl":          {"S3 bucket ACL public-read, public-read-write or authenticated-read", (*module).publicACL},
	"s3-public-access":    {"S3 public access block with a protection turned off", (*module).publicAccessBlock},
	"hardcoded-secret":    {"a password, secret, token or key written as a literal", (*module).hardcodedSecrets},
	"iam-wildcard-action": {"an IAM policy allowing Action \"*\"", (*module).iamWildcard},
}

// ForbidPatterns lists the pattern ids Assertions.Forbid accepts.
func ForbidPatterns() []string { return slices.Sorted(maps.Keys(forbidRules)) }

// ForbidTitle describes a pattern id ("" when unknown).
func ForbidTitle(id string) string { return forbidRules[id].title }

var worldCIDRs = []string{"0.0.0.0/0", "::/0"}

func (m *module) openIngress(id string, port int) []Finding {
	var out []Finding
	check := func(r resource, body *hclsyntax.Body, where string, cidrAttrs ...string) {
		world := ""
		for _, a := range cidrAttrs {
			if attr, ok := body.Attributes[a]; ok {
				for _, c := range literalStrings(attr.Expr) {
					if slices.Contains(worldCIDRs, c) {
						world = c
					}
				}
			}
		}
		if world == "" || !coversPort(body, port) {
			return
		}
		what := "port 22"
		if port < 0 {
			what = portText(body)
		}
		out = append(out, at(r.file, body.SrcRange, id, "%s: %s allows %s from %s", r.addr(), where, what, world))
	}
	for _, r := range m.resources {
		switch r.typ {
		case "aws_security_group":
			for _, b := range r.block.Body.Blocks {
				if b.Type == "ingress" {
					check(r, b.Body, "ingress block", "cidr_blocks", "ipv6_cidr_blocks")
				}
			}
		case "aws_security_group_rule":
			if v := lookup(r.block.Body, r.file.src, []string{"type"}); len(v) > 0 && v[0].text == "ingress" {
				check(r, r.block.Body, "rule", "cidr_blocks", "ipv6_cidr_blocks")
			}
		case "aws_vpc_security_group_ingress_rule":
			check(r, r.block.Body, "rule", "cidr_ipv4", "cidr_ipv6")
		}
	}
	return out
}

// coversPort reports whether an ingress body's port range includes port
// (port < 0: any port). Non-literal ports are assumed not to match.
func coversPort(body *hclsyntax.Body, port int) bool {
	proto := ""
	for _, a := range []string{"protocol", "ip_protocol"} {
		if attr, ok := body.Attributes[a]; ok {
			proto, _ = literalString(attr.Expr)
		}
	}
	if proto == "-1" || proto == "all" {
		return true
	}
	if port < 0 {
		return true
	}
	from, okF := intAttr(body, "from_port")
	to, okT := intAttr(body, "to_port")
	if !okF || !okT {
		return false
	}
	if from == 0 && to == 0 && (proto == "-1" || proto == "") {
		return true
	}
	return from <= port && port <= to
}

func portText(body *hclsyntax.Body) string {
	from, okF := intAttr(body, "from_port")
	to, okT := intAttr(body, "to_port")
	switch {
	case !okF || !okT:
		return "traffic"
	case from == to:
		return fmt.Sprintf("port %d", from)
	default:
		return fmt.Sprintf("ports %d-%d", from, to)
	}
}

func intAttr(body *hclsyntax.Body, name string) (int, bool) {
	attr, ok := body.Attributes[name]
	if !ok {
		return 0, false
	}
	s, ok := literalString(attr.Expr)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

var publicACLs = []string{"public-read", "public-read-write", "authenticated-read"}

func (m *module) publicACL() []Finding {
	var out []Finding
	for _, r := range m.resources {
		if r.typ != "aws_s3_bucket" && r.typ != "aws_s3_bucket_acl" && r.typ != "aws_s3_object" {
			continue
		}
		for _, v := range lookup(r.block.Body, r.file.src, []string{"acl"}) {
			if slices.Contains(publicACLs, v.text) {
				out = append(out, at(r.file, v.rng, "public-acl", "%s: acl = %q makes the objects readable by anyone; use private", r.addr(), v.text))
			}
		}
	}
	return out
}

func (m *module) publicAccessBlock() []Finding {
	var out []Finding
	for _, r := range m.resources {
		if r.typ != "aws_s3_bucket_public_access_block" && r.typ != "aws_s3_account_public_access_block" {
			continue
		}
		for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			vals := lookup(r.block.Body, r.file.src, []string{a})
			switch {
			case len(vals) == 0:
				out = append(out, at(r.file, r.block.DefRange(), "s3-public-access", "%s: %s is not set (it defaults to false); set it to true", r.addr(), a))
			case vals[0].text == "false":
				out = append(out, at(r.file, vals[0].rng, "s3-public-access", "%s: %s = false; set it to true", r.addr(), a))
			}
		}
	}
	return out
}

var secretAttrRe = regexp.MustCompile(`(?i)(^|_)(password|passwd|secret|secret_key|access_key|token|private_key|api_key)$`)

func (m *module) hardcodedSecrets() []Finding {
	var out []Finding
	var walk func(r resource, body *hclsyntax.Body)
	walk = func(r resource, body *hclsyntax.Body) {
		for _, name := range slices.Sorted(maps.Keys(body.Attributes)) {
			attr := body.Attributes[name]
			if !secretAttrRe.MatchString(name) {
				continue
			}
			if s, ok := literalString(attr.Expr); ok && s != "" {
				out = append(out, at(r.file, attr.SrcRange, "hardcoded-secret", "%s: %s is a literal secret; use a sensitive variable or a secret manager", label(r), name))
			}
		}
		for _, b := range body.Blocks {
			walk(r, b.Body)
		}
	}
	for _, r := range m.resources {
		walk(r, r.block.Body)
	}
	for _, p := range m.providers {
		walk(p, p.block.Body)
	}
	for _, name := range slices.Sorted(maps.Keys(m.variables)) {
		b := m.variables[name]
		if !secretAttrRe.MatchString(name) {
			continue
		}
		if attr, ok := b.Body.Attributes["default"]; ok {
			if s, ok := literalString(attr.Expr); ok && s != "" {
				out = append(out, at(m.varFile[name], attr.SrcRange, "hardcoded-secret", "variable %q has a literal secret default; remove the default and pass it at apply time", name))
			}
		}
	}
	return out
}

func label(r resource) string {
	if r.name == "" {
		return "provider " + r.typ
	}
	return r.addr()
}

var wildcardActionRe = regexp.MustCompile(`(?i)"?actions?"?\s*[=:]\s*\[?\s*"\*"`)

func (m *module) iamWildcard() []Finding {
	var out []Finding
	for _, r := range m.resources {
		if !strings.HasPrefix(r.typ, "aws_iam_") {
			continue
		}
		for _, v := range lookup(r.block.Body, r.file.src, []string{"policy"}) {
			if wildcardActionRe.MatchString(v.text) {
				out = append(out, at(r.file, v.rng, "iam-wildcard-action", "%s: the policy allows Action \"*\"; list the actions it needs", r.addr()))
			}
		}
	}
	for _, r := range m.dataPolicyDocs() {
		for _, v := range lookup(r.block.Body, r.file.src, []string{"statement", "actions"}) {
			if slices.Contains(literalStrings(v.expr), "*") {
				out = append(out, at(r.file, v.rng, "iam-wildcard-action", "data.%s: the policy allows actions [\"*\"]; list the actions it needs", r.addr()))
			}
		}
	}
	return out
}

func (m *module) dataPolicyDocs() []resource {
	var out []resource
	for _, f := range m.files {
		for _, b := range f.body.Blocks {
			if b.Type == "data" && len(b.Labels) == 2 && b.Labels[0] == "aws_iam_policy_document" {
				out = append(out, resource{b.Labels[0], b.Labels[1], b, f})
			}
		}
	}
	return out
}

// taggable lists common AWS resource types that take a tags map. A positive
// list: many AWS types (attachments, associations, rules) take no tags.
var taggable = map[string]bool{
	"aws_instance": true, "aws_s3_bucket": true, "aws_vpc": true, "aws_subnet": true,
	"aws_security_group": true, "aws_db_instance": true, "aws_rds_cluster": true,
	"aws_lb": true, "aws_alb": true, "aws_lb_target_group": true, "aws_iam_role": true,
	"aws_iam_user": true, "aws_iam_policy": true, "aws_kms_key": true,
	"aws_dynamodb_table": true, "aws_lambda_function": true, "aws_ecs_cluster": true,
	"aws_ecs_service": true, "aws_ecs_task_definition": true, "aws_eks_cluster": true,
	"aws_eks_node_group": true, "aws_internet_gateway": true, "aws_nat_gateway": true,
	"aws_route_table": true, "aws_ebs_volume": true, "aws_sqs_queue": true,
	"aws_sns_topic": true, "aws_cloudwatch_log_group": true, "aws_ecr_repository": true,
	"aws_efs_file_system": true, "aws_elasticache_cluster": true, "aws_eip": true,
	"aws_launch_template": true, "aws_network_interface": true, "aws_vpc_endpoint": true,
	"aws_secretsmanager_secret": true, "aws_cloudfront_distribution": true,
	"aws_route53_zone": true, "aws_acm_certificate": true, "aws_key_pair": true,
	"aws_network_acl": true, "aws_flow_log": true, "aws_elasticsearch_domain": true,
	"aws_opensearch_domain": true, "aws_kinesis_stream": true, "aws_sfn_state_machine": true,
}

func (m *module) checkTags(keys []string) []Finding {
	defaultKeys := map[string]bool{}
	hasDefault := false
	for _, p := range m.providers {
		if p.typ != "aws" {
			continue
		}
		for _, b := range p.block.Body.Blocks {
			if b.Type != "default_tags" {
				continue
			}
			hasDefault = true
			if attr, ok := b.Body.Attributes["tags"]; ok {
				if keys, known := m.mapKeys(attr.Expr); known {
					maps.Copy(defaultKeys, keys)
				} else if obj, ok := attr.Expr.(*hclsyntax.ObjectConsExpr); ok {
					for _, it := range obj.Items {
						defaultKeys[objKey(it.KeyExpr)] = true
					}
				}
			}
		}
	}
	var out []Finding
	for _, r := range m.resources {
		if !taggable[r.typ] {
			continue
		}
		if n, _, known := m.instances(r); known && n == 0 {
			continue // creates nothing
		}
		attr, ok := r.block.Body.Attributes["tags"]
		// tags = local.empty, merge(local.a, {}) …: resolved when locals
		// and defaults say what they are.
		var resolved map[string]bool
		known := false
		if ok {
			resolved, known = m.mapKeys(attr.Expr)
		}
		if !hasDefault && (!ok || (known && len(resolved) == 0)) {
			if ok {
				out = append(out, at(r.file, attr.SrcRange, RuleTags, "%s has no tags (its tags are an empty map)", r.addr()))
			} else {
				out = append(out, at(r.file, r.block.DefRange(), RuleTags, "%s has no tags", r.addr()))
			}
			continue
		}
		if len(keys) == 0 {
			continue
		}
		have := maps.Clone(defaultKeys)
		if ok {
			obj, isObj := attr.Expr.(*hclsyntax.ObjectConsExpr)
			switch {
			case known:
				maps.Copy(have, resolved)
			case isObj:
				for _, it := range obj.Items {
					have[objKey(it.KeyExpr)] = true
				}
			default:
				continue // depends on something only a plan knows: give the benefit of the doubt
			}
		}
		var missing []string
		for _, k := range keys {
			if !have[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			rng := r.block.DefRange()
			if ok {
				rng = attr.SrcRange
			}
			out = append(out, at(r.file, rng, RuleTags, "%s: tags lack %s", r.addr(), strings.Join(missing, ", ")))
		}
	}
	return out
}
