-- +goose Up
-- sessions.invite_id: a session opened by an invite link reaches that
-- invite's take-home only (issue #11, finding 1). NULL: a password login,
-- which reaches every take-home of its own account. No foreign key: SQLite
-- cannot drop a column that one references (Down), and a session scoped to
-- a deleted invite simply reaches nothing.
ALTER TABLE sessions ADD COLUMN invite_id TEXT;

-- Sessions opened by invite links before this migration: the invite whose
-- claim the session was made for is the last one its (password-less)
-- account opened before the session began. Sessions that match none stay
-- NULL and, having no password behind them, reach no take-home.
UPDATE sessions SET invite_id = (
    SELECT c.invite_id FROM invite_claims c
    WHERE c.user_id = sessions.user_id AND c.opened_at <= sessions.created_at
    ORDER BY c.opened_at DESC LIMIT 1)
WHERE invite_id IS NULL
  AND user_id IN (SELECT id FROM users WHERE password_hash = '');

-- +goose Down
ALTER TABLE sessions DROP COLUMN invite_id;
