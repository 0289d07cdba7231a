package server

import (
	"context"
	"io"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/terminal"
)

// fiberParam matches a Fiber route parameter (":id") so it can be written
// as OpenAPI writes it ("{id}").
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// loadOpenAPI parses and validates the embedded document with kin-openapi.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("server/openapi.yaml does not parse as OpenAPI: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("server/openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// TestOpenAPIDocumentMatchesRoutes enumerates the app's /api/v1 routes (the
// same fully mounted app as TestEveryBodyRouteReadsJSONLikeAForm) and fails
// when a route is missing from server/openapi.yaml or the document lists a
// method and path the app does not serve.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("the document's paths are relative to one server /api/v1; servers = %v", doc.Servers)
	}
	s := fullyMountedServer(t)

	served := map[string]bool{}
	for _, r := range s.App().GetRoutes(true) {
		switch r.Method {
		case fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		default:
			continue // HEAD is mounted with every GET
		}
		rest, ok := strings.CutPrefix(r.Path, "/api/v1/")
		if !ok {
			continue
		}
		served[r.Method+" /"+fiberParam.ReplaceAllString(rest, "{$1}")] = true
	}
	if len(served) < 10 {
		t.Fatalf("only %d /api/v1 routes found: the app was not fully mounted", len(served))
	}

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			documented[key] = true
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s has no operationId or summary", key)
			}
			if op.Responses == nil || op.Responses.Default() == nil {
				t.Errorf("%s has no default (error) response", key)
			}
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, k := range missing {
		t.Errorf("route %s (under /api/v1) is not in server/openapi.yaml: document it", k)
	}
	for _, k := range extra {
		t.Errorf("server/openapi.yaml documents %s (under /api/v1) but the app has no such route", k)
	}
}

// TestOpenAPIErrorShapeMatchesHandler: the document's Error schema has the
// fields the error handler writes, and every status of the code table.
func TestOpenAPIErrorShapeMatchesHandler(t *testing.T) {
	doc := loadOpenAPI(t)
	schema := doc.Components.Schemas["Error"]
	if schema == nil || schema.Value == nil {
		t.Fatal("components.schemas.Error is missing")
	}
	for _, f := range []string{"error", "detail"} {
		if schema.Value.Properties[f] == nil {
			t.Errorf("Error schema has no %q property (apiError writes it)", f)
		}
	}
	desc := doc.Components.Schemas["Error"].Value.Description
	for _, status := range statusOf {
		if !strings.Contains(desc, strconv.Itoa(status)) {
			t.Errorf("Error schema description does not list status %d of the code table", status)
		}
	}
}

// TestOpenAPITokenScopes: an operation a Bearer token may call names in
// x-token-scope the least scope accounts.Scope.Allows lets through; one a
// token may not call (the session routes, the public document) has none.
func TestOpenAPITokenScopes(t *testing.T) {
	doc := loadOpenAPI(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			reqs := doc.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			bearer := false
			for _, r := range reqs {
				if _, ok := r["bearer"]; ok {
					bearer = true
				}
			}
			got, _ := op.Extensions["x-token-scope"].(string)
			if !bearer {
				if got != "" {
					t.Errorf("%s: x-token-scope %q on an operation without bearer security", key, got)
				}
				continue
			}
			want := ""
			for _, sc := range []accounts.Scope{accounts.ScopeRead, accounts.ScopeAssignments, accounts.ScopeAdmin} {
				if sc.Allows(method, strings.TrimPrefix(path, "/")) {
					want = string(sc)
					break
				}
			}
			if got != want {
				t.Errorf("%s: x-token-scope = %q, want %q (the least scope accounts.Scope.Allows accepts)", key, got, want)
			}
		}
	}
}

// TestOpenAPIServed: GET /api/v1/openapi.yaml answers the embedded document
// to anyone (no session, no token).
func TestOpenAPIServed(t *testing.T) {
	s := fullyMountedServer(t)
	resp, err := s.App().Test(httptest.NewRequest(fiber.MethodGet, "/api/v1/openapi.yaml", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != fiber.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type = %q, want application/yaml", ct)
	}
	if string(body) != string(openAPIDocument) {
		t.Error("the served document differs from the embedded one")
	}
}

// fullyMountedServer builds the app with stub collaborators (never called)
// so that every route is mounted (the route-table tests enumerate it).
func fullyMountedServer(t *testing.T) *Server {
	t.Helper()
	deps := Deps{
		Accounts:  struct{ Accounts }{},
		Tokens:    struct{ APITokens }{},
		Catalog:   struct{ Catalog }{},
		Attempts:  struct{ Attempts }{},
		Authoring: struct{ Authoring }{},
		Published: struct{ Published }{},
		Review:    ReviewDeps{Service: struct{ AssignmentService }{}},
		Terminal:  TerminalDeps{Hub: &terminal.Hub{}, Tickets: &terminal.Tickets{}, AuthorizeTerminal: func(*fiber.Ctx, string) (string, string, error) { return "", "", nil }},
	}
	s, err := New(Config{PublicURL: "http://opsdojo.test"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
