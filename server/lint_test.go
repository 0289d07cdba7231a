package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLintWorkflow: the editor's live lint of workflow files answers with
// actionlint's and the offline runner's problems at line:col, only for a
// signed-in user.
func TestLintWorkflow(t *testing.T) {
	t.Parallel()
	w := newAssignWorld(t)
	anon := w.browser(t)
	if code, _ := anon.doJSON("POST", "/api/v1/lint/workflow", `{"content":"on: push"}`, map[string]string{"Accept": "application/json"}); code != 401 && code != 403 {
		t.Fatalf("anonymous lint: %d, want 401/403", code)
	}
	carl := w.login(t, "carl@example.com", "candidate password")
	csrf := map[string]string{"X-CSRF-Token": carl.apiCSRF(), "Accept": "application/json"}
	wf := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nope]\n    steps:\n      - uses: acme/deploy@v1\n"
	body, _ := json.Marshal(map[string]string{"path": ".github/workflows/ci.yml", "content": wf})
	code, resp := carl.doJSON("POST", "/api/v1/lint/workflow", string(body), csrf)
	if code != 200 {
		t.Fatalf("lint: %d %s", code, resp)
	}
	var out struct{ Lines []string }
	if err := json.Unmarshal([]byte(resp), &out); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(out.Lines, "\n")
	if !strings.Contains(joined, `.github/workflows/ci.yml:7:15: uses: "acme/deploy@v1" is not available offline`) || !strings.Contains(joined, `"nope"`) {
		t.Errorf("lint lines:\n%s", joined)
	}
	good := `{"path":"ci.yml","content":"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ok\n"}`
	if code, resp := carl.doJSON("POST", "/api/v1/lint/workflow", good, csrf); code != 200 || !strings.Contains(resp, `"lines":[]`) {
		t.Errorf("clean workflow: %d %s", code, resp)
	}
}
