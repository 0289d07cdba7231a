// Package ui holds the server-rendered templates and the front-end assets
// (built by esbuild from ui/src into ui/dist and embedded). A binary built
// without running the front-end build still compiles; Assets reports
// whether the bundle is present so pages can say how to build it.
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed all:dist
var distFS embed.FS

//go:embed static/*.js
var staticFS embed.FS

// Static is hand-written browser code that needs no bundling (served at
// /assets/).
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // "static" is embedded above; unreachable
	}
	return sub
}

// Pages parses each page template (templates/*.html other than
// layout.html) together with the shared layout, keyed by file name without
// ".html". Each page defines "content"; execute the page's "layout".
func Pages(funcs template.FuncMap) (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	pages := make(map[string]*template.Template, len(names))
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("clone layout: %w", err)
		}
		if _, err := t.ParseFS(templateFS, n); err != nil {
			return nil, fmt.Errorf("parse %s: %w", base, err)
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// Assets is the built front-end (ui/dist).
func Assets() fs.FS {
	sub, err := fs.Sub(distFS, "dist")
	if err != nil {
		panic(err) // "dist" is embedded above; unreachable
	}
	return sub
}

// AssetsBuilt reports whether the front-end bundle was built before this
// binary was compiled.
func AssetsBuilt() bool {
	_, err := fs.Stat(Assets(), "app.js")
	return err == nil
}
