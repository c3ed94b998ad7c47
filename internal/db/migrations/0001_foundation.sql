-- Users of every role, their pooling regions, portal sessions, API tokens, and the audit chain.

CREATE TABLE users (
    id {{id}},
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    -- base32 TOTP secret once confirmed; '' when the user has no second factor
    totp_secret TEXT NOT NULL DEFAULT '',
    -- secret offered but not yet confirmed with a code
    totp_pending TEXT NOT NULL DEFAULT '',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- demo users exist only in databases created with serve --demo
    demo BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE user_regions (
    user_id {{big}} NOT NULL REFERENCES users(id),
    region TEXT NOT NULL,
    PRIMARY KEY (user_id, region)
);

CREATE INDEX user_regions_region ON user_regions(region);

-- A session row holds the SHA-256 of the cookie value, never the value itself.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id {{big}} NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX sessions_user ON sessions(user_id);

-- An API token row holds the SHA-256 of the token; the token is shown once, when made.
CREATE TABLE api_tokens (
    id {{id}},
    user_id {{big}} NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- the first characters of the token, so an operator can tell tokens apart
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- The audit log is append-only. Each entry's hash is SM3 over its fields and the previous
-- entry's hash; audit_head holds the last sequence number and hash so that removing entries from
-- the end is detected too.
CREATE TABLE audit_log (
    seq {{big}} PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    region TEXT NOT NULL,
    request_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE INDEX audit_log_object ON audit_log(object);
CREATE INDEX audit_log_region_at ON audit_log(region, at);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq {{big}} NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO audit_head(id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
