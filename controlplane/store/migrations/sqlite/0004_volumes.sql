-- Volume incarnations (issue 18): the start of a backend's volume names, chosen when its row is
-- inserted, so that a backend created under the name of a purged one never attaches volumes
-- the purge could not reach (left on a lost node). Existing backends keep their volumes'
-- names: '' means the backend's name.

ALTER TABLE backends ADD COLUMN volumes TEXT NOT NULL DEFAULT '';
