-- +goose Up
-- invite_claims: an opened invite, bound to the candidate user it logged
-- in, with its clock. Submission is requested once (submit_requested_at,
-- set by one conditional UPDATE) and then frozen by a background loop that
-- resumes after restarts (finalized_at NULL = still to do; lease_until
-- keeps two servers from freezing the same invite at once).
CREATE TABLE invite_claims (
    invite_id           TEXT PRIMARY KEY REFERENCES invites(id) ON DELETE CASCADE,
    user_id             TEXT NOT NULL REFERENCES users(id),
    opened_at           TIMESTAMPTZ NOT NULL,
    deadline_at         TIMESTAMPTZ NOT NULL,
    submit_requested_at TIMESTAMPTZ,
    automatic           BOOLEAN NOT NULL DEFAULT FALSE,
    finalized_at        TIMESTAMPTZ,
    lease_until         TIMESTAMPTZ,
    error               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invite_claims_user_id ON invite_claims(user_id);
CREATE INDEX invite_claims_open ON invite_claims(finalized_at, deadline_at);

-- webhook_deliveries: one signed POST of one event to one URL, retried
-- with exponential backoff until delivered or out of attempts.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    event           TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending','delivered','failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);

CREATE INDEX attempts_invite_id ON attempts(invite_id);
CREATE INDEX assignments_owner_id ON assignments(owner_id);
CREATE UNIQUE INDEX reviews_attempt_reviewer ON reviews(attempt_id, reviewer_id);

-- +goose Down
DROP INDEX reviews_attempt_reviewer;
DROP INDEX assignments_owner_id;
DROP INDEX attempts_invite_id;
DROP TABLE webhook_deliveries;
DROP TABLE invite_claims;
