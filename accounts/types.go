package accounts

import (
	"fmt"
	"time"
)

// Role is what a user may do.
type Role string

// The four roles (the CHECK of users.role).
const (
	RoleCandidate Role = "candidate"
	RoleManager   Role = "manager"
	RoleAuthor    Role = "author"
	RoleAdmin     Role = "admin"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleCandidate, RoleManager, RoleAuthor, RoleAdmin:
		return true
	}
	return false
}

// ParseRole turns user input (a flag, a form field) into a Role.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("%q is not a role; use candidate, manager, author or admin", s)
}

// User is a local account.
type User struct {
	ID           string
	Email        string
	Name         string
	Role         Role
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// SessionRecord is a stored login session; ID is the SHA-256 of the cookie
// token (the token itself is never stored).
type SessionRecord struct {
	ID         string
	UserID     string
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	IP         string
	UserAgent  string
	// InviteID is set on a session opened by an invite link: it reaches
	// that invite's take-home only.
	InviteID *string
}
