-- Dashboard sign-in sessions. The session id lives only in the browser's
-- cookie; the store keeps its SHA-256 (hex), so reading the database yields
-- no usable session. credential binds the session to what it was opened
-- with: the API token's id, or a fingerprint of the admin password hash, so
-- that revoking the token or changing the password ends it.
CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    role          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_credential ON sessions (credential, created_at);
