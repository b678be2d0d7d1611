package coreapi

import (
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// GET /admin/backup streams the whole backend as one backup archive (see core.Service.Backup
// for its layout; the site's live release is added here under site/, since the site is this
// package's). Nothing is copied whole into memory or onto disk: entries go out as they are
// read, and only one JSON-lines entry at a time is spooled, as tar needs its size first.

// BackupSiteDir holds the live site release's files in a backup archive, by their path.
const BackupSiteDir = "site/"

// backupRoute is exempt from the query deadline (see boundQueries): a backup takes as long
// as the data takes to read, and each of its database calls is bounded by the store.
const backupRoute = "/admin/backup"

func (s *Server) handleBackup(c echo.Context) error {
	if len(c.QueryParams()) > 0 {
		return httpapi.BadRequest("invalid_query", "GET /admin/backup takes no query parameters")
	}
	res := c.Response()
	incarnation := s.data.Incarnation()
	stamp := time.Now().UTC().Format("20060102T150405Z")
	res.Header().Set(echo.HeaderContentType, "application/x-tar")
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="backup-%s-%s.tar"`, incarnation[:min(8, len(incarnation))], stamp))
	if c.Request().Method == http.MethodHead {
		// The headers are all a HEAD gets: no reason to read the whole backend for it.
		return c.NoContent(http.StatusOK)
	}
	w := backuparchive.NewWriter(res, map[string]string{"engine": s.data.Engine(), "incarnation": incarnation, "version": Version}, backuparchive.Options{})
	err := s.data.Backup(c.Request().Context(), w)
	if err == nil {
		err = s.backupSite(w)
	}
	if err == nil {
		err = w.Close()
	}
	switch {
	case err == nil:
		if !res.Committed {
			res.WriteHeader(http.StatusOK)
		}
		return nil
	case !res.Committed:
		res.Header().Del(echo.HeaderContentDisposition)
		return err
	}
	// The archive is half sent with a 200: the only honest signal left is to cut the
	// connection, so the client sees a truncated stream (which Verify refuses) rather than an
	// archive that merely looks short.
	if c.Request().Context().Err() != nil {
		s.log.Warn("backup abandoned by its client", "err", err)
	} else {
		s.log.Error("backup failed while streaming", "err", err)
	}
	panic(http.ErrAbortHandler)
}

// backupSite adds every file of the live site release, if there is one.
func (s *Server) backupSite(w *backuparchive.Writer) error {
	_, root, ok, err := s.site.OpenCurrent()
	if err != nil {
		return fmt.Errorf("backup site: %w", err)
	}
	if !ok {
		w.Count("siteFiles", 0)
		return nil
	}
	defer func() { _ = root.Close() }()
	n := 0
	err = fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := root.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		if err := w.Add(BackupSiteDir+path, info.Size(), f); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("backup site: %w", err)
	}
	w.Count("siteFiles", n)
	return nil
}
