package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// bodyRoutes is every POST/PUT route and the fields its handler reads from
// the body (nil: it reads none). TestEveryBodyRouteReadsJSONLikeAForm fails
// when a route is missing here, so a new route cannot be forgotten.
var bodyRoutes = map[string]url.Values{
	"POST /login":                                           {"email": {"ada@example.com"}, "password": {"pw"}, "next": {"/x"}},
	"POST /register":                                        {"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"pw"}, "next": {"/x"}},
	"POST /logout":                                          nil,
	"POST /api/v1/login":                                    {"email": {"ada@example.com"}, "password": {"pw"}},
	"POST /api/v1/register":                                 {"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"pw"}},
	"POST /api/v1/logout":                                   nil,
	"POST /me/password":                                     {"current_password": {"a"}, "new_password": {"b"}},
	"POST /api/v1/me/password":                              {"current_password": {"a"}, "new_password": {"b"}},
	"POST /logout-all":                                      nil,
	"POST /api/v1/logout-all":                               nil,
	"POST /assignments":                                     {"title": {"T"}, "challenge": {"a", "b"}, "time_limit_minutes": {"90"}, "deadline": {"2030-01-31T17:00"}, "interview_mode": {"true"}},
	"POST /api/v1/assignments":                              {"title": {"T"}, "challenges": {"a", "b"}, "time_limit_minutes": {"90"}, "deadline": {"2030-01-31T17:00:00Z"}, "hints_allowed": {"true"}},
	"POST /assignments/:id/invites":                         {"name": {"N"}, "email": {"n@example.com"}, "expires_in_days": {"7"}},
	"POST /api/v1/assignments/:id/invites":                  {"name": {"N"}, "email": {"n@example.com"}, "expires_in_days": {"7"}},
	"POST /assignments/:id/invites/:invite/revoke":          nil,
	"POST /review/:invite/attempts/:attempt":                {"notes": {"good"}, "rubric_score": {"80"}},
	"POST /api/v1/review/:invite/attempts/:attempt":         {"notes": {"good"}, "rubric_score": {"80"}},
	"POST /invite/:token":                                   nil,
	"POST /take/:invite/start":                              nil,
	"POST /take/:invite/submit":                             nil,
	"POST /api/v1/take/:invite/submit":                      nil,
	"POST /author/upload":                                   nil, // a multipart file upload ("archive"), no fields
	"POST /author/challenges/:id/publish":                   nil,
	"POST /author/challenges/:id/unpublish":                 nil,
	"POST /author/challenges/:id/selftest":                  {"runs": {"2"}},
	"POST /api/v1/author/upload":                            nil,
	"POST /api/v1/author/challenges/:id/publish":            nil,
	"POST /api/v1/author/challenges/:id/unpublish":          nil,
	"POST /api/v1/author/challenges/:id/selftest":           {"runs": {"2"}},
	"POST /api/v1/lint/workflow":                            {"path": {"ci.yml"}, "content": {"on: push\n"}},
	"POST /challenges/:id/start":                            nil,
	"POST /api/v1/challenges/:id/attempts":                  nil,
	"POST /api/v1/attempts/:id/check":                       nil,
	"POST /api/v1/attempts/:id/hints/:n":                    nil,
	"POST /api/v1/attempts/:id/reset":                       nil,
	"PUT /api/v1/attempts/:id/files":                        {"content": {"echo hi\n"}},
	"POST /api/v1/attempts/:attempt/terminals/:term/ticket": nil,
	"POST /api/v1/tokens":                                   {"name": {"ci"}, "scope": {"assignments"}, "expires_in_days": {"30"}},
	"POST /account/tokens":                                  {"name": {"ci"}, "scope": {"read"}, "expires_in_days": {"30"}},
	"POST /account/tokens/:id/revoke":                       nil,
	"DELETE /api/v1/tokens/:id":                             nil,
}

// asJSON turns form values into the JSON a client would send: one value a
// string, repeated values an array, "true" a boolean, digits a number.
func asJSON(v url.Values) string {
	m := map[string]any{}
	for k, vs := range v {
		conv := func(s string) any {
			if s == "true" {
				return true
			}
			if n := json.Number(s); s != "" && strings.Trim(s, "0123456789") == "" {
				return n
			}
			return s
		}
		if len(vs) == 1 && k != "challenge" && k != "challenges" {
			m[k] = conv(vs[0])
			continue
		}
		arr := make([]any, len(vs))
		for i, s := range vs {
			arr[i] = conv(s)
		}
		m[k] = arr
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func readVia(t *testing.T, ctype, body string) url.Values {
	t.Helper()
	app := fiber.New()
	var got url.Values
	app.Post("/", func(c *fiber.Ctx) error {
		in, err := readInput(c)
		if err != nil {
			return err
		}
		got = in.vals
		return nil
	})
	req, _ := http.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := app.Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s body %q: %d %s", ctype, body, resp.StatusCode, b)
	}
	return got
}

func multipartBody(v url.Values) (string, string) {
	var sb strings.Builder
	const boundary = "XbOuNdArYx"
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, s := range v[k] {
			sb.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + s + "\r\n")
		}
	}
	sb.WriteString("--" + boundary + "--\r\n")
	return "multipart/form-data; boundary=" + boundary, sb.String()
}

// TestEveryBodyRouteReadsJSONLikeAForm enumerates the app's POST/PUT/DELETE
// routes: each must be in bodyRoutes, and the fields it reads come out of a
// JSON body exactly as out of an urlencoded or multipart form.
func TestEveryBodyRouteReadsJSONLikeAForm(t *testing.T) {
	s := fullyMountedServer(t)
	seen := map[string]bool{}
	for _, r := range s.App().GetRoutes(true) {
		switch r.Method {
		case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		default:
			continue
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		fields, ok := bodyRoutes[key]
		if !ok {
			t.Errorf("route %s is not in bodyRoutes: list the fields its handler reads (readInput) so JSON and forms are checked alike", key)
			continue
		}
		if fields == nil {
			continue
		}
		t.Run(key, func(t *testing.T) {
			form := readVia(t, fiber.MIMEApplicationForm, fields.Encode())
			js := readVia(t, fiber.MIMEApplicationJSON, asJSON(fields))
			mct, mbody := multipartBody(fields)
			mp := readVia(t, mct, mbody)
			if !reflect.DeepEqual(form, fields) || !reflect.DeepEqual(js, fields) || !reflect.DeepEqual(mp, fields) {
				t.Fatalf("fields differ:\nsent      %v\nform      %v\njson      %v\nmultipart %v", fields, form, js, mp)
			}
		})
	}
	for key := range bodyRoutes {
		if !seen[key] {
			t.Errorf("bodyRoutes lists %s but the app has no such route", key)
		}
	}
}

// TestJSONBodyRefusals: nested objects and malformed JSON are a 400 naming
// the problem, not empty fields.
func TestJSONBodyRefusals(t *testing.T) {
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		if _, err := readInput(c); err != nil {
			return badInput(err)
		}
		return nil
	})
	for _, body := range []string{`{"email": {"x": 1}}`, `{"email": `, `[1,2]`, ``} {
		req, _ := http.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, _ := app.Test(req, 5000)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, resp.StatusCode)
		}
	}
}
