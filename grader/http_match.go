package grader

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/opsdojo/opsdojo/challenges"
)

// jsonMismatch checks each gjson path of want (values ${VAR}-expanded)
// against body and returns "" or the first difference, in path order.
func jsonMismatch(want map[string]string, body string, env map[string]string) string {
	if len(want) == 0 {
		return ""
	}
	if !gjson.Valid(body) {
		return fmt.Sprintf("the body is not JSON (%q)", firstLine(body, 80))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := expand(want[k], env)
		got := gjson.Get(body, k)
		switch {
		case !got.Exists():
			return fmt.Sprintf("the JSON has no %s (expected %q)", k, w)
		case got.String() != w:
			return fmt.Sprintf("the JSON's %s is %s, expected %q", k, firstLine(got.Raw, 80), w)
		}
	}
	return ""
}

// httpOwnerScript is the served_by part of an http check's script.
func httpOwnerScript(h *challenges.HTTPCheck, env map[string]string) string {
	if h.ServedBy == nil {
		return ""
	}
	port, err := urlPort(expand(h.URL, env))
	if err != nil {
		return fmt.Sprintf("echo %s\n", shellQuote(ownerErrPrefix+err.Error()))
	}
	return ownerScript(port, false, h.ServedBy.User)
}

// evalHTTPExtras applies expect_json and served_by to an answer whose
// status and body already matched; head holds the owner lines.
func evalHTTPExtras(h *challenges.HTTPCheck, head, body, url string, env map[string]string, r *CheckResult) {
	if msg := jsonMismatch(h.ExpectJSON, body, env); msg != "" {
		r.Passed, r.Message = false, fmt.Sprintf("%s answered, but %s", url, msg)
		return
	}
	if h.ServedBy == nil {
		return
	}
	ls, userUID, errMsg := parseOwners(head)
	if errMsg != "" {
		r.Passed, r.Message = false, errMsg
		return
	}
	port, _ := urlPort(url)
	ok, msg := judgeOwners(h.ServedBy, fmt.Sprintf("port %d", port), ls, userUID)
	if !ok {
		r.Passed, r.Message = false, fmt.Sprintf("%s answered, but %s", url, msg)
		return
	}
	r.Message = strings.TrimSuffix(r.Message, " as expected") + ", served by the packaged " + h.ServedBy.Exe
}
