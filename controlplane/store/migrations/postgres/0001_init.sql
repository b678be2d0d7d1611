-- The control plane's initial schema. Times are Unix milliseconds (0 = unset).

CREATE TABLE developers (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'developer')),
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_developer_id ON sessions (developer_id);

CREATE TABLE invites (
    id         TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0,
    used_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invites_created_at ON invites (created_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE backends (
    name               TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL,
    desired            TEXT NOT NULL CHECK (desired IN ('running', 'deleted')),
    state              TEXT NOT NULL
        CHECK (state IN ('creating', 'running', 'degraded', 'failed', 'deleting', 'deleted')),
    purge              BOOLEAN NOT NULL DEFAULT FALSE,
    node               TEXT NOT NULL DEFAULT '',
    sealed_api_key     BYTEA,
    sealed_admin_token BYTEA,
    operation          BIGINT NOT NULL CHECK (operation > 0),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    BIGINT NOT NULL DEFAULT 0,
    last_error         TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX backends_owner_id ON backends (owner_id);

CREATE TABLE events (
    id        BIGSERIAL PRIMARY KEY,
    backend   TEXT NOT NULL,
    operation BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    state     TEXT NOT NULL,
    message   TEXT NOT NULL
);
CREATE INDEX events_backend_operation_id ON events (backend, operation, id);
