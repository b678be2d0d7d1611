package coreapi

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/siterelease"
	"github.com/labstack/echo/v4"
)

// POST /admin/restore replaces the backend's data with a backup archive (the body; gzip-
// compressed or not). The archive is checked whole while it is received — structure, names,
// sizes, every checksum — and spooled to the files volume; only an archive that passes is
// restored (see core.Service.Restore). The site's release, under site/, is staged beside and
// goes live as the last step.

// restoreRoute, like backupRoute, has no query deadline and no body limit but its own.
const restoreRoute = "/admin/restore"

// restoreAnswer is the body of a successful restore.
type restoreAnswer struct {
	Restored   map[string]int `json:"restored"`
	DurationMS int64          `json:"durationMs"`
}

func (s *Server) handleRestore(c echo.Context) error {
	if len(c.QueryParams()) > 0 {
		return httpapi.BadRequest("invalid_query", "POST /admin/restore takes no query parameters")
	}
	started := time.Now()
	spool, m, err := s.receiveBackup(c.Request().Body)
	if err != nil {
		return err
	}
	defer func() {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
	}()
	site := &siteRestore{store: s.site}
	defer site.discard()
	counts, err := s.data.Restore(c.Request().Context(), spool, m, core.RestoreOptions{
		Owns:   func(name string) bool { return strings.HasPrefix(name, BackupSiteDir) },
		Other:  site.add,
		Commit: site.publish,
		Source: map[string]string{"engine": s.data.Engine(), "incarnation": s.data.Incarnation(), "version": Version, "reason": "snapshot before a restore"},
	})
	if err != nil {
		return err
	}
	counts["siteFiles"] = site.files
	s.afterRestore(c.Request().Context())
	s.log.Info("restored from a backup", "counts", counts, "createdAt", m.CreatedAt, "duration", time.Since(started))
	return c.JSON(http.StatusOK, restoreAnswer{Restored: counts, DurationMS: time.Since(started).Milliseconds()})
}

// receiveBackup spools the body into the files volume while checking it, so a bad archive
// is refused as soon as its fault arrives and a good one is read from disk afterwards.
func (s *Server) receiveBackup(body io.Reader) (*os.File, backuparchive.Manifest, error) {
	spool, err := os.CreateTemp(filepath.Join(s.cfg.FilesDir, core.TempDir), "restore-*.tar")
	if err != nil {
		return nil, backuparchive.Manifest{}, fmt.Errorf("spool backup: %w", err)
	}
	fail := func(err error) (*os.File, backuparchive.Manifest, error) {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
		return nil, backuparchive.Manifest{}, err
	}
	limited := &limitedBody{r: body, max: s.cfg.MaxRestoreBytes, left: s.cfg.MaxRestoreBytes}
	br := bufio.NewReader(limited)
	var archive io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fail(restoreReadError(err, limited))
		}
		archive = gz
	}
	m, err := backuparchive.Verify(io.TeeReader(archive, spool), backuparchive.Limits{MaxTotalBytes: s.cfg.MaxRestoreBytes})
	if err != nil {
		return fail(restoreReadError(err, limited))
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("spool backup: %w", err))
	}
	return spool, m, nil
}

// restoreReadError says why an upload was refused: over the size limit (413), not a valid
// archive (400 invalid_backup), or a failure of ours (500).
func restoreReadError(err error, body *limitedBody) error {
	var ae *backuparchive.Error
	if body.over || errors.As(err, &ae) && ae.OverLimit {
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "backup_too_large",
			Message: fmt.Sprintf("the archive is larger than the limit of %d bytes", body.limit()), Details: map[string]any{"limit": body.limit()}}
	}
	var corrupt flate.CorruptInputError
	switch {
	case errors.As(err, &ae):
		return core.InvalidBackup(err)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt), errors.Is(err, io.ErrUnexpectedEOF):
		return core.InvalidBackup(&backuparchive.Error{Reason: "the gzip compression is corrupt or cut short"})
	}
	return fmt.Errorf("receive backup: %w", err)
}

// limitedBody stops reading at the restore size limit and remembers that it did.
type limitedBody struct {
	r         io.Reader
	max, left int64
	over      bool
}

func (l *limitedBody) limit() int64 { return l.max }

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// At the limit: only the end of the body may follow.
		var probe [1]byte
		if n, err := l.r.Read(probe[:]); n == 0 && err != nil {
			return 0, err
		}
		l.over = true
		return 0, errors.New("over the restore size limit")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// siteRestore stages the archive's site/ entries as a new release, published last.
type siteRestore struct {
	store   *siterelease.Store
	staging *siterelease.Staging
	files   int
}

func (sr *siteRestore) add(name string, r io.Reader) error {
	if sr.staging == nil {
		st, err := sr.store.Stage()
		if err != nil {
			return err
		}
		sr.staging = st
	}
	if err := sr.staging.Add(strings.TrimPrefix(name, BackupSiteDir), r); err != nil {
		var refused *siterelease.Error
		if errors.As(err, &refused) {
			return core.InvalidBackup(&backuparchive.Error{Entry: name, Reason: refused.Msg})
		}
		return err
	}
	sr.files++
	return nil
}

// publish makes the restored site live; an archive without a site leaves the site as it is.
func (sr *siteRestore) publish() error {
	if sr.staging == nil {
		return nil
	}
	_, err := sr.staging.Publish()
	sr.staging = nil
	return err
}

func (sr *siteRestore) discard() {
	if sr.staging != nil {
		sr.staging.Discard()
	}
}

// refuseWhileRestoring answers 503 restoring to everything but the health checks and the
// restore itself while any replica restores the backend; when it finds that a restore ended
// elsewhere, it drops this replica's state of the old data first.
func (s *Server) refuseWhileRestoring(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Path() {
		case "/healthz", "/readyz", "/metrics", restoreRoute:
			return next(c)
		}
		restored, err := s.data.RestoreCheck(c.Request().Context())
		if restored {
			s.afterRestore(c.Request().Context())
		}
		if err != nil {
			if errors.Is(err, core.ErrRestoring) || isRestoring(err) {
				c.Response().Header().Set("Retry-After", "5")
			}
			return err
		}
		return next(c)
	}
}

func isRestoring(err error) bool {
	var ce *core.Error
	return errors.As(err, &ce) && ce.Code == core.ErrRestoring.Code
}

// restoreEvent follows a restore on another replica: at its start, connections close (their
// sessions are about to end); at its end, this replica drops what it held of the old data.
func (s *Server) restoreEvent(ev core.Event) {
	ctx, cancel := context.WithTimeout(s.lifetime, 10*time.Second)
	defer cancel()
	restored, err := s.data.RestoreEvent(ctx)
	if err != nil && s.lifetime.Err() == nil {
		s.log.Warn("read restore state", "err", err)
	}
	if ev.Action == "start" {
		s.hub.endAll(closeSessionEnded, "the backend is being restored from a backup; sign in again")
		return
	}
	if restored || ev.Action == "end" {
		s.data.AfterRestore()
		s.afterRestore(ctx)
	}
}

// afterRestore reloads what this replica keeps beside the data service: settings, functions,
// and the connections of the sessions that ended.
func (s *Server) afterRestore(ctx context.Context) {
	select {
	case s.settingsKick <- struct{}{}:
	default:
	}
	if err := s.functions.ReplaceAll(ctx); err != nil && s.lifetime.Err() == nil {
		s.log.Warn("reload functions after a restore", "err", err)
	}
	s.hub.endAll(closeSessionEnded, "the backend was restored from a backup; sign in again")
}
