-- Crash-safe API key rotation (issue 18): the control plane keeps the key it is about to send
-- (sealed), whether the rotation revokes the previous key, and since when it is pending, before
-- it asks the backend to switch, so that a control plane stopped halfway sends the same key
-- again instead of showing a key the backend no longer takes. Empty: no rotation under way.

ALTER TABLE backends ADD COLUMN pending_api_key BLOB NOT NULL DEFAULT x'';
ALTER TABLE backends ADD COLUMN pending_key_revoke INTEGER NOT NULL DEFAULT 0 CHECK (pending_key_revoke IN (0, 1));
ALTER TABLE backends ADD COLUMN pending_key_since INTEGER NOT NULL DEFAULT 0;
