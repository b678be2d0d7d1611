package controlplane

import (
	"fmt"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/labstack/echo/v4"
)

// patchBackendBody is what PATCH /api/backends/NAME changes; every part is optional, but one
// must be given.
type patchBackendBody struct {
	Backups  *backupSettingsBody `json:"backups"`
	Replicas *replicasBody       `json:"replicas"`
}

type backupSettingsBody struct {
	Schedule *string `json:"schedule"`
	Keep     *int    `json:"keep"`
}

// replicasBody sets how many tasks a backend's services run; only the API scales out (its
// database, Redis and site server are one each).
type replicasBody struct {
	API *int `json:"api"`
}

// backupSettingsJSON is a backend's effective backup settings.
type backupSettingsJSON struct {
	Schedule string `json:"schedule"`
	Keep     int    `json:"keep"`
}

// replicasJSON is how many tasks a backend's scalable services are to run.
type replicasJSON struct {
	API int `json:"api"`
}

// patchBackend changes a backend's settings and answers the backend as GET does. Everything
// sent is checked before anything is stored, so a refused part changes nothing.
func (s *Server) patchBackend(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	var req patchBackendBody
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Backups == nil && req.Replicas == nil {
		return invalidField("backups", `send the settings to change, such as {"backups": {"schedule": "daily", "keep": 7}} or {"replicas": {"api": 2}}`)
	}
	if req.Replicas != nil {
		if req.Replicas.API == nil {
			return invalidField("replicas.api", `send the API's replicas, such as {"replicas": {"api": 2}}`)
		}
		if n := *req.Replicas.API; n < 1 || n > s.cfg.MaxAPIReplicas {
			return invalidField("replicas.api", fmt.Sprintf("the API's replicas must be 1 to %d", s.cfg.MaxAPIReplicas))
		}
	}
	// What is left out stays as it was, the operator's default included.
	schedule, keep := b.BackupSchedule, b.BackupKeep
	if req.Backups != nil {
		if v := req.Backups.Schedule; v != nil {
			if _, ok := schedulePeriods[store.BackupSchedule(*v)]; !ok {
				return invalidField("backups.schedule", "schedule must be hourly, daily or off")
			}
			schedule = store.BackupSchedule(*v)
		}
		if v := req.Backups.Keep; v != nil {
			if *v < 1 || *v > MaxBackupKeep {
				return invalidField("backups.keep", fmt.Sprintf("keep must be 1 to %d", MaxBackupKeep))
			}
			keep = *v
		}
	}
	ctx := c.Request().Context()
	if req.Backups != nil {
		if _, err := s.store.SetBackupSettings(ctx, b.Name, schedule, keep, time.Now()); err != nil {
			if isNotFound(err) {
				return errBackendNotFound
			}
			return err
		}
	}
	if n := req.Replicas; n != nil && *n.API != b.APIReplicas {
		b, err = s.store.SetAPIReplicas(ctx, b.Name, *n.API, time.Now())
		if isNotFound(err) {
			return errBackendNotFound
		}
		if err != nil {
			return err
		}
		s.record(ctx, b, "progress", fmt.Sprintf("API replicas set to %d by %s", *n.API, developer(c).Email))
		s.reconciler.kick()
	}
	s.changed(ctx, b.Name)
	return s.getBackend(c)
}
