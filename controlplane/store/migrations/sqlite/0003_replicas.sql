-- API replicas and fleet upgrades (issue 18). api_replicas is how many API tasks the backend
-- runs (the developer's choice, within the operator's maximum); api_image is the API image
-- the backend last became ready with, so every control plane can tell which backends a new
-- release has reached.

ALTER TABLE backends ADD COLUMN api_replicas INTEGER NOT NULL DEFAULT 1 CHECK (api_replicas >= 1);
ALTER TABLE backends ADD COLUMN api_image TEXT NOT NULL DEFAULT '';
