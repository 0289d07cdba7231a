package browsertest

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// InlineScripts lists what the Content-Security-Policy of server/pages.go
// (script-src 'self') blocks in an HTML document: inline <script> elements
// (any but type="application/json", which is data and never run), on*
// event-handler attributes, and javascript: URLs. Template actions left in
// the text ({{if …}}) are read as text or odd attribute names, so a raw
// template can be checked too, every branch at once.
func InlineScripts(r io.Reader) []string {
	var out []string
	z := html.NewTokenizer(r)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				name := strings.ToLower(a.Key)
				attrs[name] = a.Val
				if strings.HasPrefix(name, "on") {
					out = append(out, fmt.Sprintf("<%s %s=%q>: event-handler attribute", tok.Data, a.Key, a.Val))
				}
				switch name {
				case "href", "src", "action", "formaction", "xlink:href":
					if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
						out = append(out, fmt.Sprintf("<%s %s=%q>: javascript: URL", tok.Data, a.Key, a.Val))
					}
				}
			}
			if tok.Data != "script" || tt != html.StartTagToken {
				continue
			}
			_, external := attrs["src"]
			typ := strings.ToLower(strings.TrimSpace(attrs["type"]))
			z.Next() // the script's text, if any
			body := strings.TrimSpace(string(z.Text()))
			if external && body == "" || typ == "application/json" {
				continue
			}
			out = append(out, fmt.Sprintf("inline <script>: %.60q", body))
		}
	}
}
