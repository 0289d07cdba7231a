package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/store/storetest"
	"github.com/opsdojo/opsdojo/termclient"
)

// TestRevokedSessionsLoseTheirTerminals: "sign out everywhere" and a
// password change end the account's other sessions on the server; the
// terminals those sessions opened must end with them (before, an open
// websocket kept typing into the shell after its session was revoked).
func TestRevokedSessionsLoseTheirTerminals(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"logout-all", "password change"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			w := newScopeWorld(t, storetest.Dialects[0])
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v := w.setUpVictim(t, w.browser(t), w.invite(t, "alice@example.com", "cora@example.com"))
			cora, err := w.st.UserByEmail(ctx, "cora@example.com")
			if err != nil {
				t.Fatal(err)
			}
			const pw = "cora's first password"
			hash, err := accounts.HashPassword(pw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.st.SetPassword(ctx, cora.ID, hash, "", time.Now()); err != nil {
				t.Fatal(err)
			}
			stolen, owner := w.login(t, "cora@example.com", pw), w.login(t, "cora@example.com", pw)
			code, body := call(stolen, sessionCSRF(t, stolen), scopeRow{"POST", "", "/api/v1/attempts/" + v.attemptID + "/terminals/1/ticket", ""})
			if code != 200 {
				t.Fatalf("ticket: %d %s", code, body)
			}
			term, err := termclient.Dial(ctx, w.base+ticketURL(t, body), "", termclient.Options{})
			if err != nil {
				t.Fatalf("terminal: %v", err)
			}
			defer term.Close()

			ocsrf := sessionCSRF(t, owner)
			if how == "logout-all" {
				code, body = doJSON(owner, "POST", "/api/v1/logout-all", `{}`, map[string]string{"X-CSRF-Token": ocsrf, "Content-Type": "application/json", "Accept": "application/json"})
			} else {
				code, body = doJSON(owner, "POST", "/api/v1/me/password", `{"current_password":"`+pw+`","new_password":"cora's second password"}`,
					map[string]string{"X-CSRF-Token": ocsrf, "Content-Type": "application/json", "Accept": "application/json"})
			}
			if code != 200 {
				t.Fatalf("%s: %d %s", how, code, body)
			}
			select {
			case <-term.Done():
			case <-ctx.Done():
				t.Fatalf("the revoked session's terminal is still open after %s", how)
			}
			var ce *termclient.CloseError
			if err := term.Err(); !errors.As(err, &ce) || ce.Code != 1001 {
				t.Fatalf("terminal ended with %v, want close 1001 with a reason", err)
			}
			// Reconnecting needs a ticket, which the revoked session no
			// longer gets.
			code, body = call(stolen, "", scopeRow{"POST", "", "/api/v1/attempts/" + v.attemptID + "/terminals/1/ticket", ""})
			if code == 200 {
				t.Fatalf("a revoked session got a new ticket: %s", body)
			}
		})
	}
}
