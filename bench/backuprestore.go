package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"
)

// restoreOnto restores the archive at path onto a second, empty backend through
// POST /admin/restore, counts what that backend then holds and signs in there as user (when
// not nil) with the password it had before the backup.
func (s *backupSummary) restoreOnto(ctx context.Context, cfg backupConfig, path string, user map[string]string) error {
	target, err := cfg.env.startBackend(ctx, backupTargetName+"-"+cfg.engine, cfg.engine, backupQuotas)
	if err != nil {
		return err
	}
	admin := newTransferAdmin(cfg.env, target.adminURL)
	if s.restore, s.restoreReported, err = restoreBackup(ctx, admin, path); err != nil {
		return err
	}
	if s.after, err = countBackend(ctx, target.store); err != nil {
		return err
	}
	if user != nil {
		api := newAPIClient(target.baseURL, cfg.env.apiKey, 1)
		if err := api.call(ctx, http.MethodPost, "/auth/token", user, http.StatusOK, nil); err != nil {
			return fmt.Errorf("sign in on the restored backend with the password from before: %w", err)
		}
		s.signedIn = true
	}
	return nil
}

// restoreBackup posts the archive at path to POST /admin/restore and returns how long it took
// from the first byte sent to the answer, and the duration the backend reported.
func restoreBackup(ctx context.Context, admin *apiClient, path string) (transfer, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return transfer{}, 0, err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return transfer{}, 0, err
	}
	start := time.Now()
	resp, err := admin.send(ctx, http.MethodPost, "/admin/restore", "application/x-tar", f)
	if err != nil {
		return transfer{}, 0, fmt.Errorf("POST /admin/restore: %w", err)
	}
	var answer struct {
		DurationMS int64 `json:"durationMs"`
	}
	if err := expect(resp, http.StatusOK, &answer); err != nil {
		return transfer{}, 0, fmt.Errorf("POST /admin/restore: %w", err)
	}
	return transfer{elapsed: time.Since(start), bytes: info.Size()}, time.Duration(answer.DurationMS) * time.Millisecond, nil
}
