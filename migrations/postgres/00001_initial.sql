-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('candidate','manager','author','admin')),
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,           -- sha256 of the cookie token, never the token
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions(user_id);

CREATE TABLE challenges (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    difficulty      TEXT NOT NULL DEFAULT '',
    current_version TEXT NOT NULL,
    published       BOOLEAN NOT NULL DEFAULT FALSE,
    source_dir      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE challenge_versions (
    challenge_id TEXT NOT NULL REFERENCES challenges(id) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    spec         TEXT NOT NULL,              -- JSON snapshot of the spec at that version
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (challenge_id, version)
);

CREATE TABLE assignments (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id),
    title          TEXT NOT NULL,
    challenge_ids  TEXT NOT NULL,            -- JSON array of challenge ids
    time_limit_s   INTEGER NOT NULL,
    deadline_at    TIMESTAMPTZ NOT NULL,
    interview_mode BOOLEAN NOT NULL DEFAULT TRUE,
    hints_allowed  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE invites (
    id            TEXT PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL CHECK (state IN ('pending','opened','submitted','expired','revoked')),
    expires_at    TIMESTAMPTZ NOT NULL,
    opened_at     TIMESTAMPTZ,
    submitted_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX invites_assignment_id ON invites(assignment_id);

CREATE TABLE attempts (
    id                TEXT PRIMARY KEY,
    user_id           TEXT REFERENCES users(id),
    invite_id         TEXT REFERENCES invites(id),
    challenge_id      TEXT NOT NULL,
    challenge_version TEXT NOT NULL,
    mode              TEXT NOT NULL CHECK (mode IN ('practice','assignment','selftest')),
    state             TEXT NOT NULL CHECK (state IN ('active','submitted','expired','abandoned')),
    seed              BIGINT NOT NULL DEFAULT 0,
    sandbox_id        TEXT NOT NULL DEFAULT '',
    score             INTEGER NOT NULL DEFAULT 0,
    max_score         INTEGER NOT NULL DEFAULT 0,
    started_at        TIMESTAMPTZ NOT NULL,
    deadline_at       TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ
);
CREATE INDEX attempts_user_id ON attempts(user_id);
CREATE INDEX attempts_state ON attempts(state);

CREATE TABLE hint_reveals (
    attempt_id  TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    hint_index  INTEGER NOT NULL,
    cost        INTEGER NOT NULL,
    revealed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (attempt_id, hint_index)
);

CREATE TABLE grading_jobs (
    id           TEXT PRIMARY KEY,
    attempt_id   TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    reason       TEXT NOT NULL CHECK (reason IN ('check','submit','selftest')),
    state        TEXT NOT NULL CHECK (state IN ('queued','running','done','failed')),
    tries        INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  TIMESTAMPTZ,
    error        TEXT NOT NULL DEFAULT '',
    check_run_id TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX grading_jobs_state ON grading_jobs(state, created_at);

CREATE TABLE check_runs (
    id          TEXT PRIMARY KEY,
    attempt_id  TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    job_id      TEXT NOT NULL DEFAULT '',
    score       INTEGER NOT NULL,
    max_score   INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX check_runs_attempt_id ON check_runs(attempt_id);

CREATE TABLE check_results (
    id           BIGSERIAL PRIMARY KEY,
    check_run_id TEXT NOT NULL REFERENCES check_runs(id) ON DELETE CASCADE,
    check_id     TEXT NOT NULL,
    title        TEXT NOT NULL,
    passed       BOOLEAN NOT NULL,
    timed_out    BOOLEAN NOT NULL DEFAULT FALSE,
    points       INTEGER NOT NULL,
    max_points   INTEGER NOT NULL,
    message      TEXT NOT NULL DEFAULT '',
    output       TEXT NOT NULL DEFAULT '',
    duration_ms  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX check_results_run ON check_results(check_run_id);

CREATE TABLE submissions (
    id           TEXT PRIMARY KEY,
    attempt_id   TEXT NOT NULL UNIQUE REFERENCES attempts(id) ON DELETE CASCADE,
    files        TEXT NOT NULL DEFAULT '[]',  -- JSON: [{path, mode, content_base64}]
    diff         TEXT NOT NULL DEFAULT '',
    automatic    BOOLEAN NOT NULL DEFAULT FALSE,
    submitted_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE recordings (
    id          TEXT PRIMARY KEY,
    attempt_id  TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    terminal    TEXT NOT NULL DEFAULT '',
    path        TEXT NOT NULL,
    bytes       BIGINT NOT NULL DEFAULT 0,
    events      BIGINT NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ
);
CREATE INDEX recordings_attempt_id ON recordings(attempt_id);

CREATE TABLE reviews (
    id           TEXT PRIMARY KEY,
    attempt_id   TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    reviewer_id  TEXT NOT NULL REFERENCES users(id),
    notes        TEXT NOT NULL DEFAULT '',
    rubric_score INTEGER,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX reviews_attempt_id ON reviews(attempt_id);

CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_object ON audit_events(object_type, object_id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE reviews;
DROP TABLE recordings;
DROP TABLE submissions;
DROP TABLE check_results;
DROP TABLE check_runs;
DROP TABLE grading_jobs;
DROP TABLE hint_reveals;
DROP TABLE attempts;
DROP TABLE invites;
DROP TABLE assignments;
DROP TABLE challenge_versions;
DROP TABLE challenges;
DROP TABLE sessions;
DROP TABLE users;
