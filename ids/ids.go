// Package ids makes the random identifiers of opsdojo's records (users,
// attempts, invites, jobs…). It is a leaf: domain packages and the store
// both use it without importing each other.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// New returns a random 128-bit identifier as 32 hex characters.
func New() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // unreachable on Linux
	}
	return hex.EncodeToString(b[:])
}
