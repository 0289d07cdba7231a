package ui_test

import (
	"bytes"
	"html/template"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/ui"
	"github.com/opsdojo/opsdojo/ui/browsertest"
)

// TestTemplatesHaveNoInlineScript is the class test of the CSP: every
// template file, read as HTML with its {{actions}} left in place (so every
// branch is seen, not only those a given page data takes), has no inline
// script and no on* attribute. Behaviour goes in ui/src (data-* attributes
// and addEventListener; see ui/src/pages.js).
func TestTemplatesHaveNoInlineScript(t *testing.T) {
	t.Parallel()
	templates := os.DirFS("templates")
	names, err := fs.Glob(templates, "*.html")
	if err != nil || len(names) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, n := range names {
		data, err := fs.ReadFile(templates, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range browsertest.InlineScripts(bytes.NewReader(data)) {
			t.Errorf("%s: %s (the Content-Security-Policy blocks it: move it to ui/src)", n, p)
		}
	}
}

// TestRenderedPagesHaveNoInlineScript renders every page with the layout,
// as the server does, and checks the output the same way (what the layout
// adds, and what actions produce, is HTML too). Page data is a map without
// the page's fields, so a page may stop early on a nil value: what was
// rendered up to there is still checked. The server's test with real data
// is TestServedPagesHaveNoInlineScript.
func TestRenderedPagesHaveNoInlineScript(t *testing.T) {
	t.Parallel()
	pages, err := ui.Pages(template.FuncMap{
		"deref":  func(b *bool) bool { return b != nil && *b },
		"derefs": func(s *string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, tpl := range pages {
		for _, built := range []bool{true, false} {
			var buf bytes.Buffer
			d := map[string]any{"Title": name, "AssetsBuilt": built, "DockerOK": false, "DockerError": "down", "CSRF": "tok",
				"User": map[string]any{"Name": "Ann", "Role": "admin"}, "Data": map[string]any{"Open": true}}
			if err := tpl.ExecuteTemplate(&buf, "layout", d); err != nil {
				t.Logf("%s: rendered up to %v", name, err)
			}
			if !strings.Contains(buf.String(), "<body>") {
				t.Fatalf("page %s: the layout did not render: %q", name, buf.String())
			}
			for _, p := range browsertest.InlineScripts(&buf) {
				t.Errorf("page %s: %s", name, p)
			}
		}
	}
}

// TestInlineScriptsFindsWhatCSPBlocks keeps the checker honest.
func TestInlineScriptsFindsWhatCSPBlocks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		doc  string
		want int
	}{
		{`<script src="/static/app.js"></script>`, 0},
		{`<script type="application/json" id="d">{"a":1}</script>`, 0},
		{`<script>alert(1)</script>`, 1},
		{`<script type="module">import "/x.js"</script>`, 1},
		{`<button onclick="x()">`, 1},
		{`<form ONSUBMIT="return confirm('x')">`, 1},
		{`<a href="javascript:alert(1)">`, 1},
		{`<div data-confirm="ok" data-onclick="fine">`, 0},
	} {
		if got := browsertest.InlineScripts(strings.NewReader(tc.doc)); len(got) != tc.want {
			t.Errorf("%s: %d problems %q, want %d", tc.doc, len(got), got, tc.want)
		}
	}
}
