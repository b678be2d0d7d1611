-- The control plane's initial schema. Times are Unix milliseconds (0 = unset). STRICT tables
-- reject values of the wrong type, as PostgreSQL would.

CREATE TABLE developers (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'developer')),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_developer_id ON sessions (developer_id);

CREATE TABLE invites (
    id         TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    used_by    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX invites_created_at ON invites (created_at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE backends (
    name               TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL,
    desired            TEXT NOT NULL CHECK (desired IN ('running', 'deleted')),
    state              TEXT NOT NULL
        CHECK (state IN ('creating', 'running', 'degraded', 'failed', 'deleting', 'deleted')),
    purge              INTEGER NOT NULL DEFAULT 0 CHECK (purge IN (0, 1)),
    node               TEXT NOT NULL DEFAULT '',
    sealed_api_key     BLOB,
    sealed_admin_token BLOB,
    operation          INTEGER NOT NULL CHECK (operation > 0),
    attempts           INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX backends_owner_id ON backends (owner_id);

-- AUTOINCREMENT: ids are never reused, even after the newest events are removed, so a panel
-- streaming with "after id N" cannot miss a later event that reused an id.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    backend   TEXT NOT NULL,
    operation INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    state     TEXT NOT NULL,
    message   TEXT NOT NULL
) STRICT;
CREATE INDEX events_backend_operation_id ON events (backend, operation, id);
