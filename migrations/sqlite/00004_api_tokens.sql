-- +goose Up
-- Personal access tokens (issue #18): sent as "Authorization: Bearer odj_…".
-- token_hash is the SHA-256 (hex) of the token; the token itself is shown
-- once and never stored. prefix is its first characters, for recognising a
-- token in the list. scope: read (GET only), assignments (create
-- assignments, invite, fetch scores), admin (all the owner's role allows).
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'assignments', 'admin')),
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME,
    last_used_at DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX api_tokens_user_id ON api_tokens(user_id);

-- +goose Down
DROP TABLE api_tokens;
