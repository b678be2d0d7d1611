-- Backups (issue 17). A backup belongs to the developer who owned the backend when it was
-- taken, and outlives the backend: rows name the backend but do not reference it. At most one
-- backup of a backend runs at a time (the partial unique index), whichever control plane
-- takes it.

ALTER TABLE backends ADD COLUMN backup_schedule TEXT NOT NULL DEFAULT ''
    CHECK (backup_schedule IN ('', 'hourly', 'daily', 'off'));
ALTER TABLE backends ADD COLUMN backup_keep INTEGER NOT NULL DEFAULT 0 CHECK (backup_keep >= 0);
-- The id of the backup a new backend is a copy of, until it has been restored into it.
ALTER TABLE backends ADD COLUMN copy_from TEXT NOT NULL DEFAULT '';

CREATE TABLE backups (
    id         TEXT PRIMARY KEY,
    backend    TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('manual', 'scheduled')),
    state      TEXT NOT NULL CHECK (state IN ('running', 'ready', 'failed')),
    bytes      INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    sha256     TEXT NOT NULL DEFAULT '',
    error      TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX backups_backend_created_at ON backups (backend, created_at);
CREATE INDEX backups_owner_id ON backups (owner_id);
CREATE UNIQUE INDEX backups_one_running ON backups (backend) WHERE state = 'running';
