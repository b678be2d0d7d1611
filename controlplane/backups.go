package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
)

// The backups API (CONTRACT §7): take, list, download and delete a backend's backups, restore
// one (or an uploaded archive) into a backend, and set the backend's schedule. A backup
// belongs to the developer who owned the backend when it was taken: anyone else but the
// operator gets 404 backup_not_found for it, exactly as for a missing one.

var (
	errBackupNotFound = httpapi.NewError(http.StatusNotFound, "backup_not_found", "no such backup")
	errBackupNotReady = httpapi.NewError(http.StatusConflict, "backup_not_ready", "this backup is running or failed; only a ready backup can be used")
)

// backupJSON is a backup as the API shows it.
type backupJSON struct {
	ID        string `json:"id"`
	Backend   string `json:"backend"`
	CreatedAt string `json:"createdAt"`
	State     string `json:"state"`
	Kind      string `json:"kind"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
	Error     string `json:"error,omitempty"`
}

func toBackupJSON(b store.Backup) backupJSON {
	return backupJSON{ID: b.ID, Backend: b.Backend, CreatedAt: rfc3339(b.CreatedAt), State: string(b.State), Kind: string(b.Kind),
		Bytes: b.Bytes, SHA256: b.SHA256, Error: b.Error}
}

// validBackupID tells ids the control plane could have made (newID: 24 lowercase hex digits)
// from anything else, which is answered as missing without a look at the store.
func validBackupID(id string) bool {
	if len(id) != 24 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// visibleBackup loads a backup of backend that the caller may use: their own, or any for the
// operator. Whether the backend still exists does not matter: backups outlive it.
func (s *Server) visibleBackup(ctx context.Context, caller store.Developer, backend, id string) (store.Backup, error) {
	if !validBackupID(id) {
		return store.Backup{}, errBackupNotFound
	}
	bk, err := s.store.Backup(ctx, id)
	if isNotFound(err) {
		return store.Backup{}, errBackupNotFound
	}
	if err != nil {
		return store.Backup{}, err
	}
	if bk.Backend != backend || caller.Role != store.RoleOperator && bk.OwnerID != caller.ID {
		return store.Backup{}, errBackupNotFound
	}
	return bk, nil
}

// createBackup starts a manual backup; it runs in the background.
func (s *Server) createBackup(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	run, err := s.startBackup(c.Request().Context(), b, store.BackupManual)
	if err != nil {
		return err
	}
	go s.runBackup(s.lifetime, run)
	return c.JSON(http.StatusAccepted, map[string]string{"id": run.row.ID, "state": string(store.BackupRunning)})
}

// listBackups lists the caller's backups of the name, newest first, whether or not the
// backend still exists; with none, the name must be a backend the caller sees.
func (s *Server) listBackups(c echo.Context) error {
	name := c.Param("name")
	if names.Backend(name) != nil {
		return errBackendNotFound
	}
	ctx, caller := c.Request().Context(), developer(c)
	owner := caller.ID
	if caller.Role == store.RoleOperator {
		owner = ""
	}
	list, err := s.store.ListBackups(ctx, name, owner)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		if _, err := s.visibleBackend(c); err != nil {
			return err
		}
	}
	out := make([]backupJSON, len(list))
	for i, bk := range list {
		out[i] = toBackupJSON(bk)
	}
	return c.JSON(http.StatusOK, out)
}

// downloadBackup sends a ready backup's archive (HEAD and ranges too).
func (s *Server) downloadBackup(c echo.Context) error {
	bk, err := s.visibleBackup(c.Request().Context(), developer(c), c.Param("name"), c.Param("id"))
	if err != nil {
		return err
	}
	if bk.State != store.BackupReady {
		return errBackupNotReady
	}
	f, err := os.Open(s.backupPath(bk.ID))
	if err != nil {
		return fmt.Errorf("open backup %s: %w", bk.ID, err)
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/x-tar")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s-%s.tar"`, bk.Backend, bk.CreatedAt.UTC().Format("20060102-150405"), bk.ID))
	h.Set("ETag", `"`+bk.SHA256+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Response(), c.Request(), "", bk.CreatedAt, f)
	return nil
}

// deleteBackupHandler deletes a backup that is not running: its row, then its file.
func (s *Server) deleteBackupHandler(c echo.Context) error {
	ctx := c.Request().Context()
	bk, err := s.visibleBackup(ctx, developer(c), c.Param("name"), c.Param("id"))
	if err != nil {
		return err
	}
	if bk.State == store.BackupRunning {
		return errBackupInProgress
	}
	if err := s.deleteBackup(ctx, bk); err != nil && !isNotFound(err) {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// restoreBody names a stored backup to restore.
type restoreBody struct {
	BackupID string `json:"backupId"`
}

// Media types of an archive uploaded for a restore.
const (
	mediaTar  = "application/x-tar"
	mediaGzip = "application/gzip"
	// mediaXGzip is what some browsers and tools call a .gz file.
	mediaXGzip = "application/x-gzip"
)

// restoreBackend restores a stored backup ({"backupId"}) or an uploaded archive into the
// backend, in the background. An upload is spooled to the backup directory and verified
// before anything happens.
func (s *Server) restoreBackend(c echo.Context) error {
	b, err := s.visibleBackend(c)
	if err != nil {
		return err
	}
	if b.State != store.StateRunning && b.State != store.StateDegraded {
		return errNotReady(b)
	}
	ctx, caller := c.Request().Context(), developer(c)
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	var src restoreSource
	switch mt {
	case echo.MIMEApplicationJSON:
		var req restoreBody
		if err := decode(c, &req); err != nil {
			return err
		}
		bk, err := s.restorableBackup(ctx, caller, req.BackupID)
		if err != nil {
			return err
		}
		src = restoreSource{path: s.backupPath(bk.ID), contentType: mediaTar, label: "backup " + bk.ID}
	case mediaTar, mediaGzip, mediaXGzip:
		if src, err = s.spoolUpload(c, mt != mediaTar); err != nil {
			return err
		}
	default:
		return httpapi.NewError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			`send {"backupId": ID} as application/json, or the archive as application/x-tar or application/gzip`)
	}
	if err := s.startRestore(ctx, b, src); err != nil {
		if src.temporary {
			_ = os.Remove(src.path)
		}
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"state": "restoring"})
}

// restorableBackup is a ready backup the caller may restore, of any of their backends.
func (s *Server) restorableBackup(ctx context.Context, caller store.Developer, id string) (store.Backup, error) {
	if !validBackupID(id) {
		return store.Backup{}, errBackupNotFound
	}
	bk, err := s.store.Backup(ctx, id)
	if isNotFound(err) || err == nil && caller.Role != store.RoleOperator && bk.OwnerID != caller.ID {
		return store.Backup{}, errBackupNotFound
	}
	if err != nil {
		return store.Backup{}, err
	}
	if bk.State != store.BackupReady {
		return store.Backup{}, errBackupNotReady
	}
	return bk, nil
}

// spoolUpload writes the request's archive to a temporary file while verifying it, in one
// pass: an archive that does not verify is refused (400 invalid_backup) and removed.
func (s *Server) spoolUpload(c echo.Context, gzipped bool) (restoreSource, error) {
	path := s.uploadPath(newID())
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return restoreSource{}, fmt.Errorf("spool upload: %w", err)
	}
	err = verifyArchive(io.TeeReader(c.Request().Body, f), gzipped)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("spool upload: %w", cerr)
	}
	if err != nil {
		_ = os.Remove(path)
		var be *backuparchive.Error
		if errors.As(err, &be) {
			return restoreSource{}, &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_backup",
				Message: be.Error(), Details: map[string]any{"reason": be.Reason, "entry": be.Entry}}
		}
		return restoreSource{}, httpapi.BadRequest("invalid_backup", "the upload ended before the archive was complete")
	}
	ct := mediaTar
	if gzipped {
		ct = mediaGzip
	}
	return restoreSource{path: path, contentType: ct, label: "an uploaded archive", temporary: true}, nil
}

func invalidField(field, msg string) error {
	return &httpapi.Error{Status: http.StatusBadRequest, Code: "invalid_input", Message: msg, Details: map[string]any{"field": field}}
}
