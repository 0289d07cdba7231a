package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdojo/opsdojo/ui/browsertest"
)

// TestBrowserAssignmentFlow drives Chromium through a take-home: a
// manager (the first admin) creates an assignment and invites a
// candidate; the candidate opens the link (no password), fixes the
// config in the editor, saves and submits; the manager sees the score,
// the diff against the starter file and the terminal section of the
// report, and the CSV export. A reused invite link is refused.
func TestBrowserAssignmentFlow(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "testdata/challenges", "--assignment-interval", "500ms")
	ctx := chromium(t)
	acceptDialogs(ctx)

	login := func(name string) {
		t.Helper()
		steps(t, ctx, name,
			chromedp.Navigate(srv.URL+"/login"),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "admin@opsdojo.local"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "admin password 1"),
			chromedp.Submit(chromedp.CSS(`input[name=password]`)),
			chromedp.WaitVisible(chromedp.CSS(`#who`)),
		)
	}
	login("manager logs in")
	steps(t, ctx, "create assignment",
		chromedp.Navigate(srv.URL+"/assignments"),
		chromedp.Click(chromedp.CSS(`#new-assignment`)),
		chromedp.WaitVisible(chromedp.CSS(`#assignment-form`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=title]`), "Platform engineer take-home"),
		chromedp.Click(chromedp.CSS(`input[name=challenge][value="edit-config"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name=time_limit_minutes]`), "30"),
		chromedp.Click(chromedp.CSS(`#create-assignment`)),
		chromedp.WaitVisible(chromedp.CSS(`#assignment-title`)),
		chromedp.SendKeys(chromedp.CSS(`#invite-form input[name=name]`), "Katherine Johnson"),
		chromedp.SendKeys(chromedp.CSS(`#invite-form input[name=email]`), "katherine@example.com"),
		chromedp.Click(chromedp.CSS(`#invite-btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#invite-link`)),
	)
	link, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#invite-link`)))
	if err != nil || !strings.HasPrefix(link, srv.URL+"/invite/") {
		t.Fatalf("invite link %q: %v", link, err)
	}
	csvAttr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#csv-link`), "href"))
	if err != nil || !strings.HasSuffix(csvAttr.Value, "/scores.csv") {
		t.Fatalf("csv link %+v: %v", csvAttr, err)
	}
	csvPath := csvAttr.Value
	assignmentURL := srv.URL + strings.TrimSuffix(csvPath, "/scores.csv")

	// The candidate opens the link in this browser: opening signs them in
	// as the invitee (the manager's session ends).
	steps(t, ctx, "candidate opens the invite",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#start-assignment`)),
		chromedp.Click(chromedp.CSS(`#start-assignment`)),
		chromedp.WaitVisible(chromedp.CSS(`#take`)),
		chromedp.WaitVisible(chromedp.CSS(`a.open-workspace`)),
	)
	if who := textOf(t, ctx, "#who"); !strings.Contains(who, "Katherine Johnson") || !strings.Contains(who, "candidate") {
		t.Fatalf("signed in as %q, want the invitee", who)
	}
	takeURL, _ := chromedp.Run(ctx, chromedp.Location())
	steps(t, ctx, "work in the editor",
		chromedp.Click(chromedp.CSS(`a.open-workspace`)),
		chromedp.WaitVisible(chromedp.CSS(`#workspace`)),
		waitJS(`document.getElementById("editor-text").value.includes("port = 80")`, 60*time.Second),
		// a command in the terminal: recorded, replayed and listed in the
		// review's timeline
		waitJS(`window.opsdojoTerminals && window.opsdojoTerminals[0] && window.opsdojoTerminals[0].list[0] && window.opsdojoTerminals[0].list[0].state === "connected"`, 60*time.Second),
		chromedp.Focus(chromedp.CSS(".xterm-helper-textarea")),
		browsertest.TypeKeys("cat /workspace/app.conf\r"),
		waitJS(`(() => { const b = window.opsdojoTerminals[0].list[0].term.buffer.active; const out = [];
			for (let i = 0; i < b.length; i++) { const l = b.getLine(i); if (l) out.push(l.translateToString(true).trim()); }
			return out.includes("debug = true"); })()`, 30*time.Second),
		// the fix, typed in the CodeMirror editor
		chromedp.Click(chromedp.CSS(`#editor .cm-content`)),
		chromedp.Evaluate[chromedp.Void](`document.execCommand("selectAll")`),
		browsertest.TypeKeys("port = 8080\rdebug = false\r"),
		waitJS(`document.getElementById("editor-text").value.startsWith("port = 8080\ndebug = false")`, 10*time.Second),
		chromedp.Click(chromedp.CSS(`#save-btn`)),
		waitJS(`document.getElementById("save-status").textContent.startsWith("saved")`, 30*time.Second),
	)
	steps(t, ctx, "submit",
		chromedp.Navigate(takeURL),
		chromedp.WaitVisible(chromedp.CSS(`#submit-btn`)),
		chromedp.Click(chromedp.CSS(`#submit-btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#submitted`)),
	)
	// The take page reloads itself until the submission is frozen.
	waitFor(t, ctx, 90*time.Second, `!!document.getElementById("submitted") && document.getElementById("submitted").textContent.includes("Thank you")`)
	if txt := textOf(t, ctx, "#take"); strings.Contains(txt, "Submit my work") {
		t.Fatalf("submit button still offered after submitting: %q", txt)
	}

	// The link is single-use.
	steps(t, ctx, "log out and reuse the invite",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Submit(chromedp.CSS(`header form`)),
		chromedp.WaitVisible(chromedp.CSS(`header a[href="/login"]`)),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`#invite-error`)),
	)
	if msg := textOf(t, ctx, "#invite-error"); !strings.Contains(msg, "already been used") {
		t.Fatalf("reused invite page: %q", msg)
	}

	// The manager reviews.
	login("manager logs in again")
	steps(t, ctx, "dashboard shows the score",
		chromedp.Navigate(assignmentURL),
		chromedp.WaitVisible(chromedp.CSS(`#candidates`)),
	)
	if row := textOf(t, ctx, "#candidates tbody tr"); !strings.Contains(row, "Katherine Johnson") || !strings.Contains(row, "submitted") || !strings.Contains(row, "100/100") {
		t.Fatalf("candidate row %q", row)
	}
	steps(t, ctx, "report",
		chromedp.Click(chromedp.CSS(`a.report-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#total-score`)),
	)
	if s := textOf(t, ctx, "#total-score"); s != "100/100" {
		t.Fatalf("report score %q", s)
	}
	diff := textOf(t, ctx, ".od-diff")
	for _, want := range []string{"--- a/workspace/app.conf", "-port = 80", "+port = 8080", "-debug = true", "+debug = false"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	timeline := textOf(t, ctx, "#timeline")
	for _, want := range []string{"opened the invite", "final grading", "submitted", "submission frozen"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	// The terminal replay: a link per recording when the terminal
	// recorded sessions; the section is there either way.
	section := textOf(t, ctx, "section.od-challenge")
	if !strings.Contains(section, "Terminal") {
		t.Fatalf("no terminal section: %q", section)
	}
	// The candidate typed in the terminal: there is a replay and the
	// command is on the timeline.
	waitFor(t, ctx, 30*time.Second, `!!document.querySelector("a.replay-link")`)
	if href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("a.replay-link").getAttribute("href")`)); err != nil || !strings.HasPrefix(href, "/recordings/") {
		t.Fatalf("replay link %q (%v)", href, err)
	}
	if tl := textOf(t, ctx, "#timeline"); !strings.Contains(tl, "cat /workspace/app.conf") {
		t.Errorf("timeline lacks the typed command:\n%s", tl)
	}
	// The manager can replay it: the cast holds what the candidate saw.
	cast, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("a.replay-link").getAttribute("href") + "/cast").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(cast, `"version": 2`) && !strings.Contains(cast, `"version":2`) || !strings.Contains(cast, "debug = true") {
		t.Fatalf("replay cast (%v):\n%.500s", err, cast)
	}
	steps(t, ctx, "review notes",
		chromedp.SendKeys(chromedp.CSS(`form.od-review textarea[name=notes]`), "Fixed both lines quickly."),
		chromedp.SetValue(chromedp.CSS(`form.od-review input[name=rubric_score]`), "85"),
		chromedp.Submit(chromedp.CSS(`form.od-review textarea[name=notes]`)),
		chromedp.WaitVisible(chromedp.CSS(`#saved`)),
	)
	if txt := textOf(t, ctx, ".review"); !strings.Contains(txt, "rubric 85/100") || !strings.Contains(txt, "Fixed both lines quickly.") {
		t.Fatalf("saved review %q", txt)
	}
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("`+csvPath+`").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv, "Katherine Johnson,katherine@example.com,submitted,") || !strings.Contains(csv, ",100,100,85,100/100") {
		t.Fatalf("csv:\n%s", csv)
	}
	if dir := os.Getenv("OPSDOJO_SCREENSHOTS"); dir != "" {
		if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "review.png"), shot, 0o644)
		}
	}
}

// waitFor polls a JavaScript condition across page reloads (evaluations
// fail while a page navigates) until it holds or d passes.
func waitFor(t *testing.T, ctx context.Context, d time.Duration, expr string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("waited %s for %s (last error %v)\n%.3000s", d, expr, err, html)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
