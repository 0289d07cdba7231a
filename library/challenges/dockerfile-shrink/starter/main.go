// Command linkshort serves the short-link landing page (standard library only).
//
//	linkshort              serve on :8080 from ./templates and ./static
//	linkshort healthcheck  exit 0 when the local /healthz answers 200
package main

import (
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://127.0.0.1:8080/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
		os.Exit(0)
	}
	page, tplErr := template.ParseFiles("templates/index.html")
	_, cssErr := os.Stat("static/style.css")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.Dir("static"))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if tplErr != nil || cssErr != nil {
			http.Error(w, fmt.Sprintf("assets missing: %v %v", tplErr, cssErr), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if tplErr != nil {
			http.Error(w, "template missing", http.StatusInternalServerError)
			return
		}
		page.Execute(w, map[string]any{"Links": []string{"docs", "status", "pricing"}})
	})
	log.Printf("linkshort on :8080")
	log.Fatal(http.ListenAndServe(":8080", mux))
}
