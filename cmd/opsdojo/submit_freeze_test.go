package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

// TestSubmitFreezesTheTakeHome: work after submission does not count. A
// candidate arms two loops in the terminal that apply the fix a few seconds
// later, after submit (a background job and an `env -i setsid` escapee), submits,
// and types the fix right after the submit answer. Their open websocket is
// closed at submit with a reason, a new ticket is refused with 409, and
// the final grade and the stored files are those of the submit instant:
// 0 points, the starter config. Before the freeze, the terminal stayed
// open until the background grading had run, and the command typed after
// submit (or the loops) changed the final grade.
func TestSubmitFreezesTheTakeHome(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "testdata/challenges", "--assignment-interval", "500ms")
	mgr := newClient(t, srv.URL)
	mgr.login("admin@opsdojo.local", "admin password 1")
	var created struct {
		Assignment struct{ ID string } `json:"assignment"`
	}
	if code := mgr.json("POST", "/api/v1/assignments", map[string]any{"title": "Freeze take-home", "challenges": []string{"edit-config"},
		"time_limit_minutes": 30, "deadline": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, &created); code != 201 {
		t.Fatalf("create assignment: %d", code)
	}
	var inv struct {
		URL string `json:"url"`
	}
	if code := mgr.json("POST", "/api/v1/assignments/"+created.Assignment.ID+"/invites", map[string]any{"name": "Grace", "email": "grace@example.com"}, &inv); code != 201 {
		t.Fatalf("invite: %d", code)
	}
	i := strings.LastIndex(inv.URL, "/invite/")
	if i < 0 {
		t.Fatalf("no invite link in %q", inv.URL)
	}
	token := inv.URL[i+len("/invite/"):]

	cand := newClient(t, srv.URL)
	var opened struct {
		InviteID   string `json:"invite_id"`
		StartError string `json:"start_error"`
	}
	req, _ := http.NewRequest("POST", srv.URL+"/invite/"+token, nil)
	req.Header.Set("X-CSRF-Token", cand.csrf)
	req.Header.Set("Accept", "application/json")
	resp, err := cand.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&opened)
	resp.Body.Close()
	if resp.StatusCode != 201 || err != nil || opened.StartError != "" {
		t.Fatalf("open invite: %d %+v %v", resp.StatusCode, opened, err)
	}
	var csrf struct {
		CSRF string `json:"csrf_token"`
	}
	cand.json("GET", "/api/v1/csrf", nil, &csrf) // the invite opened a new session
	cand.csrf = csrf.CSRF
	var take struct {
		Frozen     bool `json:"frozen"`
		Challenges []struct {
			AttemptID string `json:"attempt_id"`
		} `json:"challenges"`
	}
	if code := cand.json("GET", "/api/v1/take/"+opened.InviteID, nil, &take); code != 200 || len(take.Challenges) != 1 || take.Challenges[0].AttemptID == "" {
		t.Fatalf("take: %d %+v", code, take)
	}
	attemptID := take.Challenges[0].AttemptID
	ticketPath := "/api/v1/attempts/" + attemptID + "/terminals/1/ticket"
	var tk struct {
		URL string `json:"url"`
	}
	if code := cand.json("POST", ticketPath, nil, &tk); code != 200 {
		t.Fatalf("ticket: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var term *termclient.Conn
	term, err = termclient.Dial(ctx, srv.URL+tk.URL, "", termclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer term.Close()
	const fix = `printf 'port = 8080\ndebug = false\n' > /workspace/app.conf`
	// The loops wake 3 s after being armed: well after the submit below,
	// with room for a loaded host between the submit request and the pause.
	if _, err := term.Write([]byte("(sleep 3; " + fix + ") & env -i setsid sh -c \"sleep 3; " + strings.ReplaceAll(fix, `\n`, `\\n`) + "\" </dev/null >/dev/null 2>&1 & sleep 0.3; echo ar''med\r")); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Expect(ctx, "armed"); err != nil {
		t.Fatalf("terminal: %v", err)
	}

	if code, body := cand.do("POST", "/api/v1/take/"+opened.InviteID+"/submit", nil, ""); code != 202 {
		t.Fatalf("submit: %d %s", code, body)
	}
	_, _ = term.Write([]byte(fix + "\r")) // typed right after submit: must not count

	select {
	case <-term.Done():
	case <-ctx.Done():
		t.Fatal("the terminal stayed open after submit")
	}
	var ce *termclient.CloseError
	if !errors.As(term.Err(), &ce) || ce.Code != terminal.CloseSandboxGone || !strings.Contains(ce.Reason, "submitted") {
		t.Fatalf("terminal ended with %v, want close %d saying submitted", term.Err(), terminal.CloseSandboxGone)
	}
	if code, body := cand.do("POST", ticketPath, nil, ""); code != 409 || !strings.Contains(body, "submitted") {
		t.Fatalf("ticket after submit: %d %s, want 409 saying submitted", code, body)
	}

	deadline := time.Now().Add(2 * time.Minute)
	for !take.Frozen {
		if time.Now().After(deadline) {
			t.Fatal("the submission was not frozen within 2 minutes")
		}
		time.Sleep(300 * time.Millisecond)
		if code := cand.json("GET", "/api/v1/take/"+opened.InviteID, nil, &take); code != 200 {
			t.Fatalf("take: %d", code)
		}
	}
	code, body := mgr.do("GET", "/api/v1/review/"+opened.InviteID, nil, "")
	if code != 200 {
		t.Fatalf("report: %d %s", code, body)
	}
	var rep struct {
		Score, Status, Problems string
		Challenges              []struct {
			Files []struct{ Path, Content string }
		}
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: score %q, status %q, problems %q", rep.Score, rep.Status, rep.Problems)
	if !strings.HasPrefix(rep.Score, "0/") {
		t.Errorf("final score %q, want 0: work done after submit was graded", rep.Score)
	}
	kept := "(not kept)"
	for _, c := range rep.Challenges {
		for _, f := range c.Files {
			if f.Path == "/workspace/app.conf" {
				kept = f.Content
			}
		}
	}
	if kept != "port = 80\ndebug = true\n" {
		t.Errorf("stored /workspace/app.conf = %q, want the starter as it was at submit", kept)
	}
	if rep.Problems != "" {
		t.Errorf("freeze problems: %s", rep.Problems)
	}
}
