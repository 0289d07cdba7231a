package store

import (
	"context"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
)

// apiTokenRow is a row of api_tokens (migration 00004).
type apiTokenRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Name       string
	TokenHash  string
	Prefix     string
	Scope      accounts.Scope
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (apiTokenRow) TableName() string { return "api_tokens" }

func toAPIToken(r apiTokenRow) accounts.APIToken { return accounts.APIToken(r) }

// CreateAPIToken inserts a personal access token (its hash, never the
// token).
func (s *Store) CreateAPIToken(ctx context.Context, t *accounts.APIToken) error {
	if t.ID == "" {
		t.ID = NewID()
	}
	row := apiTokenRow(*t)
	return s.wrapWrite("create API token", s.db.WithContext(ctx).Create(&row).Error)
}

// APITokenByHash finds a token by the SHA-256 of its text, revoked and
// expired ones included (the caller decides).
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*accounts.APIToken, error) {
	var r apiTokenRow
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Take(&r).Error; err != nil {
		return nil, wrap("API token", err)
	}
	t := toAPIToken(r)
	return &t, nil
}

// TouchAPIToken records a use.
func (s *Store) TouchAPIToken(ctx context.Context, id string, now time.Time) error {
	return wrap("touch API token", s.db.WithContext(ctx).Model(&apiTokenRow{}).Where("id = ?", id).Update("last_used_at", now).Error)
}

// ListAPITokens returns a user's tokens, newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]accounts.APIToken, error) {
	var rows []apiTokenRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, wrap("list API tokens", err)
	}
	out := make([]accounts.APIToken, len(rows))
	for i, r := range rows {
		out[i] = toAPIToken(r)
	}
	return out, nil
}

// RevokeAPIToken ends a live token of userID; false when there is none.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, id string, now time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&apiTokenRow{}).Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).Update("revoked_at", now)
	return res.RowsAffected == 1, wrap("revoke API token", res.Error)
}

var _ accounts.TokenStore = (*Store)(nil)
