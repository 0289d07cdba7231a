package accounts_test

import (
	"testing"

	"github.com/opsdojo/opsdojo/accounts"
)

func TestParseRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want accounts.Role
		ok   bool
	}{
		{"candidate", accounts.RoleCandidate, true},
		{"manager", accounts.RoleManager, true},
		{"author", accounts.RoleAuthor, true},
		{"admin", accounts.RoleAdmin, true},
		{"Admin", "", false},
		{"root", "", false},
		{"", "", false},
	} {
		got, err := accounts.ParseRole(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if got.Valid() != tc.ok {
			t.Errorf("Role(%q).Valid() = %v", got, got.Valid())
		}
	}
}
