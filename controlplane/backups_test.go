package controlplane

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/backuparchive"
)

// listBackups is the developer's listing of a backend's backups.
func (d *dev) listBackups(name string) []backupJSON {
	d.p.t.Helper()
	var list []backupJSON
	d.mustStatus(http.StatusOK, d.get("/api/backends/"+name+"/backups")).decode(&list)
	return list
}

// backup takes a manual backup and waits until it has settled (ready or failed).
func (d *dev) backup(name string) backupJSON {
	d.p.t.Helper()
	var started struct{ ID, State string }
	d.mustStatus(http.StatusAccepted, d.post("/api/backends/"+name+"/backups", nil)).decode(&started)
	if started.State != "running" || !validBackupID(started.ID) {
		d.p.t.Fatalf("backup started = %+v", started)
	}
	return d.waitBackup(name, started.ID)
}

// manifest downloads a stored backup and returns its verified manifest.
func (d *dev) manifest(name, id string) backuparchive.Manifest {
	d.p.t.Helper()
	r := d.mustStatus(http.StatusOK, d.get("/api/backends/"+name+"/backups/"+id))
	m, err := backuparchive.Verify(bytes.NewReader(r.body), backuparchive.Limits{})
	if err != nil {
		d.p.t.Fatalf("backup %s of %s does not verify: %v", id, name, err)
	}
	return m
}

// waitAdmin waits until the backend's admin port answers (after a restart the store says
// running before the runtime has started the backend again).
func (d *dev) waitAdmin(name string) {
	d.p.t.Helper()
	waitFor(d.p.t, name+"'s admin port", func() bool { return d.get("/api/backends/"+name+"/admin/info").status == http.StatusOK })
}

// waitBackup waits until the backup is no longer running.
func (d *dev) waitBackup(name, id string) backupJSON {
	d.p.t.Helper()
	var got backupJSON
	waitFor(d.p.t, "backup "+id+" to settle", func() bool {
		for _, b := range d.listBackups(name) {
			if b.ID == id && b.State != "running" {
				got = b
				return true
			}
		}
		return false
	})
	return got
}

// waitEvent waits until one of the backend's events (of its current operation) contains text.
func (d *dev) waitEvent(name, text string) eventJSON {
	d.p.t.Helper()
	var got eventJSON
	waitFor(d.p.t, "an event saying "+text, func() bool {
		for _, e := range d.events(name) {
			if strings.Contains(e.Message, text) {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// fillBackend gives a backend an end user, documents, a file with an odd name and a site, and
// returns the user's client.
func fillBackend(t *testing.T, d *dev, b backendJSON) *endUser {
	t.Helper()
	u := d.p.endUser(b.Name, b.APIKey)
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/auth/register", map[string]any{"email": "ann@example.com", "password": "password123"}))
	u.mustStatus(http.StatusOK, u.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
	for i, doc := range []map[string]any{{"title": "first", "n": 1.5}, {"title": "second", "tags": []string{"a", "b"}, "nested": map[string]any{"ok": true}}} {
		doc["i"] = i
		u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/notes", doc))
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "odd name é (1).txt")
	_, _ = fw.Write([]byte("hello from a file"))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, d.p.url(b.Name+"-be", "/files"), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-API-Key", b.APIKey)
	u.mustStatus(http.StatusCreated, do(t, u.http, req))
	zipBody := siteZip(t, map[string]string{"index.html": "<h1>" + b.Name + " home</h1>"})
	d.mustStatus(http.StatusCreated, d.raw(http.MethodPost, "/api/backends/"+b.Name+"/site", bytes.NewReader(zipBody), "application/zip"))
	return u
}

// contents is what the admin port lists of a backend's data, to compare two backends; nil
// while a restore runs.
func contents(d *dev, name string) map[string]string {
	d.p.t.Helper()
	out := map[string]string{}
	for _, path := range []string{"/users", "/collections/notes/docs", "/files"} {
		r := d.get("/api/backends/" + name + "/admin" + path)
		if r.status == http.StatusServiceUnavailable {
			return nil
		}
		if r.status != http.StatusOK {
			d.p.t.Fatalf("%s of %s: %d %s", path, name, r.status, r.body)
		}
		out[path] = string(r.body)
	}
	return out
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestBackupListDownloadDelete: a backup is listed with the size and sha256 of the bytes it
// downloads as, verifies as an archive of the backend, and is gone with its file once deleted.
func TestBackupListDownloadDelete(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { backupListDownloadDelete(t) })
	t.Run("postgres", func(t *testing.T) { backupListDownloadDelete(t, onPostgres(t)) })
}

func backupListDownloadDelete(t *testing.T, opts ...planeOption) {
	p := newTestPlane(t, opts...)
	p.developer() // the operator
	d := p.developer()
	b := d.createBackend("shop")
	fillBackend(t, d, b)

	bk := d.backup("shop")
	if bk.State != "ready" || bk.Kind != "manual" || bk.Backend != "shop" || bk.Bytes <= 0 || len(bk.SHA256) != 64 || bk.Error != "" || bk.CreatedAt == "" {
		t.Fatalf("backup = %+v", bk)
	}
	d.waitEvent("shop", "backup "+bk.ID+" ready (")
	list := d.listBackups("shop")
	if len(list) != 1 || list[0] != bk {
		t.Fatalf("list = %+v", list)
	}

	r := d.mustStatus(http.StatusOK, d.get("/api/backends/shop/backups/"+bk.ID))
	if int64(len(r.body)) != bk.Bytes || sha256Hex(r.body) != bk.SHA256 {
		t.Fatalf("downloaded %d bytes with sha256 %s, listed %d and %s", len(r.body), sha256Hex(r.body), bk.Bytes, bk.SHA256)
	}
	if r.header.Get("Content-Type") != "application/x-tar" || r.header.Get("Content-Length") != strconv.FormatInt(bk.Bytes, 10) ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="shop-`) {
		t.Fatalf("download headers = %v", r.header)
	}
	m, err := backuparchive.Verify(bytes.NewReader(r.body), backuparchive.Limits{})
	if err != nil {
		t.Fatalf("the download does not verify: %v", err)
	}
	if m.Counts["users"] != 1 || m.Counts["documents:notes"] != 2 || m.Counts["files"] != 1 {
		t.Fatalf("manifest counts = %v", m.Counts)
	}
	head := d.mustStatus(http.StatusOK, d.send(http.MethodHead, "/api/backends/shop/backups/"+bk.ID, nil))
	if len(head.body) != 0 || head.header.Get("Content-Length") != strconv.FormatInt(bk.Bytes, 10) {
		t.Fatalf("HEAD = %v %d bytes", head.header, len(head.body))
	}

	// Only the ready file is in the backup directory: nothing temporary is left behind.
	entries, _ := os.ReadDir(p.cfg.BackupDir)
	if len(entries) != 1 || entries[0].Name() != bk.ID+".tar" {
		t.Fatalf("backup directory holds %v", entries)
	}

	d.mustStatus(http.StatusNoContent, d.delete("/api/backends/shop/backups/"+bk.ID))
	if list := d.listBackups("shop"); len(list) != 0 {
		t.Fatalf("list after delete = %+v", list)
	}
	if _, err := os.Stat(filepath.Join(p.cfg.BackupDir, bk.ID+".tar")); !os.IsNotExist(err) {
		t.Fatalf("the deleted backup's file is still there: %v", err)
	}
	d.get("/api/backends/shop/backups/"+bk.ID).expectError(http.StatusNotFound, "backup_not_found")
	d.delete("/api/backends/shop/backups/"+bk.ID).expectError(http.StatusNotFound, "backup_not_found")
}

// TestBackupOwnership: another developer gets 404 for your backup everywhere, exactly like a
// missing one; backups outlive their backend, and whoever takes the name later sees none of
// them. The operator sees all.
func TestBackupOwnership(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { backupOwnership(t) })
	t.Run("postgres", func(t *testing.T) { backupOwnership(t, onPostgres(t)) })
}

func backupOwnership(t *testing.T, opts ...planeOption) {
	p := newTestPlane(t, opts...)
	op := p.developer()
	ann, bob := p.developer(), p.developer()
	fillBackend(t, ann, ann.createBackend("shop"))
	bk := ann.backup("shop")
	bob.createBackend("bobs")

	bob.get("/api/backends/shop/backups").expectError(http.StatusNotFound, "backend_not_found")
	bob.get("/api/backends/shop/backups/"+bk.ID).expectError(http.StatusNotFound, "backup_not_found")
	if r := bob.send(http.MethodHead, "/api/backends/shop/backups/"+bk.ID, nil); r.status != http.StatusNotFound {
		t.Fatalf("HEAD of another's backup = %d", r.status)
	}
	bob.delete("/api/backends/shop/backups/"+bk.ID).expectError(http.StatusNotFound, "backup_not_found")
	bob.post("/api/backends/bobs/restore", map[string]any{"backupId": bk.ID}).expectError(http.StatusNotFound, "backup_not_found")
	bob.post("/api/backends", map[string]any{"name": "stolen", "fromBackup": map[string]any{"backend": "shop", "id": bk.ID}}).
		expectError(http.StatusNotFound, "backup_not_found")
	bob.get("/api/backends/stolen").expectError(http.StatusNotFound, "backend_not_found")
	// Asked under another backend's name, even the owner's backup is missing.
	ann.get("/api/backends/bobs/backups/"+bk.ID).expectError(http.StatusNotFound, "backup_not_found")

	if list := op.listBackups("shop"); len(list) != 1 || list[0].ID != bk.ID {
		t.Fatalf("operator's list = %+v", list)
	}
	op.mustStatus(http.StatusOK, op.get("/api/backends/shop/backups/"+bk.ID))

	// Purged, the backend is gone and its backups stay, for ann only.
	ann.mustStatus(http.StatusAccepted, ann.delete("/api/backends/shop?purge=true"))
	waitFor(t, "the purge", func() bool { return ann.get("/api/backends/shop").status == http.StatusNotFound })
	if list := ann.listBackups("shop"); len(list) != 1 || list[0].ID != bk.ID {
		t.Fatalf("ann's list after the purge = %+v", list)
	}
	ann.mustStatus(http.StatusOK, ann.get("/api/backends/shop/backups/"+bk.ID))
	bob.createBackend("shop")
	if list := bob.listBackups("shop"); len(list) != 0 {
		t.Fatalf("bob sees the earlier owner's backups: %+v", list)
	}
	bob.get("/api/backends/shop/backups/"+bk.ID).expectError(http.StatusNotFound, "backup_not_found")
	bob.post("/api/backends/shop/restore", map[string]any{"backupId": bk.ID}).expectError(http.StatusNotFound, "backup_not_found")
	if list := ann.listBackups("shop"); len(list) != 1 {
		t.Fatalf("ann's list once bob has the name = %+v", list)
	}
	if list := op.listBackups("shop"); len(list) != 1 {
		t.Fatalf("operator's list once bob has the name = %+v", list)
	}
}

// TestBackupSchedule: an hourly schedule (with a short hour) takes scheduled backups, keeps the
// newest keep of them and never deletes manual ones; off stops it. GET shows the settings, the
// operator's defaults where the backend has none.
func TestBackupSchedule(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { backupSchedule(t) })
	t.Run("postgres", func(t *testing.T) { backupSchedule(t, onPostgres(t)) })
}

func backupSchedule(t *testing.T, opts ...planeOption) {
	const hour = 300 * time.Millisecond
	p := newTestPlane(t, append(opts, withConfig(func(c *Config) { c.BackupTick, c.BackupHour = 50*time.Millisecond, hour }))...)
	p.developer()
	d := p.developer()
	b := d.createBackend("shop")
	if b := d.get("/api/backends/shop"); !bytes.Contains(b.body, []byte(`"backups":{"schedule":"off","keep":7}`)) {
		t.Fatalf("defaults = %s", b.body)
	}
	manual := d.backup("shop")
	// Only keep: the schedule still follows the operator's default.
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"keep": 5}}))
	if own, err := p.store.Backend(context.Background(), "shop"); err != nil || own.BackupSchedule != "" || own.BackupKeep != 5 {
		t.Fatalf("own settings = %q %d, %v", own.BackupSchedule, own.BackupKeep, err)
	}

	var got struct {
		Backups backupSettingsJSON `json:"backups"`
		Name    string             `json:"name"`
	}
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": "hourly", "keep": 2}})).decode(&got)
	if got.Name != b.Name || got.Backups != (backupSettingsJSON{Schedule: "hourly", Keep: 2}) {
		t.Fatalf("patched = %+v", got)
	}
	// One listing is checked whole: backups go on being taken meanwhile, and between a backup
	// becoming ready and the next tick's retention there are keep+1 of them.
	seen := map[string]bool{}
	var list []backupJSON
	waitFor(t, "four scheduled backups, two of them kept", func() bool {
		list = d.listBackups("shop")
		ready := 0
		for _, bk := range list {
			if bk.Kind == "scheduled" {
				seen[bk.ID] = true
				if bk.State == "ready" {
					ready++
				}
			}
		}
		return len(seen) >= 4 && ready == 2
	})
	if !slices.ContainsFunc(list, func(b backupJSON) bool { return b.ID == manual.ID }) {
		t.Fatalf("retention deleted the manual backup: %+v", list)
	}
	scheduled := 0
	for _, bk := range list {
		if bk.Kind == "scheduled" && bk.State != "running" {
			scheduled++
		}
	}
	if scheduled > 2 {
		t.Fatalf("%d scheduled backups kept, want at most 2: %+v", scheduled, list)
	}
	d.waitEvent("shop", "only the newest 2 scheduled backups are kept")

	// Off: once a tick has seen it, no more scheduled backups.
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": "off"}}))
	time.Sleep(2 * hour)
	before := len(d.listBackups("shop"))
	time.Sleep(3 * hour)
	if after := d.listBackups("shop"); len(after) > before {
		t.Fatalf("backups went on with the schedule off: %d, then %+v", before, after)
	}
	if b := d.get("/api/backends/shop"); !bytes.Contains(b.body, []byte(`"backups":{"schedule":"off","keep":2}`)) {
		t.Fatalf("settings = %s", b.body)
	}
}

// TestBackupQuota: a developer over the quota is refused (403 with limit and used), a backup
// that grows past what is left fails and leaves no file, and the operator has no limit.
func TestBackupQuota(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	d := p.developer()
	fillBackend(t, d, d.createBackend("shop"))
	op.createBackend("ops")
	first := d.backup("shop")

	// Just under what two backups take: the second starts and is stopped on the way.
	p.cfg.BackupQuotaBytes = first.Bytes + first.Bytes/2
	p.restart()
	d.p, op.p = p, p
	d.waitAdmin("shop")
	failed := d.backup("shop")
	if failed.State != "failed" || failed.Error != "backup quota exceeded" {
		t.Fatalf("backup past the quota = %+v", failed)
	}
	d.waitEvent("shop", "backup "+failed.ID+" failed: backup quota exceeded")
	entries, _ := os.ReadDir(p.cfg.BackupDir)
	if len(entries) != 1 || entries[0].Name() != first.ID+".tar" {
		t.Fatalf("backup directory holds %v", entries)
	}
	d.get("/api/backends/shop/backups/"+failed.ID).expectError(http.StatusConflict, "backup_not_ready")
	d.post("/api/backends", map[string]any{"name": "copy", "fromBackup": map[string]any{"backend": "shop", "id": failed.ID}}).
		expectError(http.StatusConflict, "backup_not_ready")
	d.post("/api/backends/shop/restore", map[string]any{"backupId": failed.ID}).expectError(http.StatusConflict, "backup_not_ready")

	// At the quota: refused before anything starts.
	p.cfg.BackupQuotaBytes, p.cfg.BackupTick = first.Bytes, 50*time.Millisecond
	p.restart()
	d.p, op.p = p, p
	d.waitAdmin("shop")
	e := d.post("/api/backends/shop/backups", nil).expectError(http.StatusForbidden, "quota_exceeded")
	if e.Details["limit"] != float64(first.Bytes) || e.Details["used"] != float64(first.Bytes) {
		t.Fatalf("quota details = %v", e.Details)
	}
	// A scheduled backup the quota refuses is listed as failed, and waits for the next period.
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": "hourly"}}))
	var refused backupJSON
	waitFor(t, "the scheduled backup refused", func() bool {
		for _, bk := range d.listBackups("shop") {
			if bk.Kind == "scheduled" {
				refused = bk
				return true
			}
		}
		return false
	})
	if refused.State != "failed" || refused.Error != "backup quota exceeded" || refused.Bytes != 0 {
		t.Fatalf("scheduled backup over the quota = %+v", refused)
	}
	d.waitEvent("shop", "backup "+refused.ID+" failed: backup quota exceeded")
	op.waitAdmin("ops")
	if bk := op.backup("ops"); bk.State != "ready" {
		t.Fatalf("the operator's backup = %+v", bk)
	}
	// Deleting a backup frees its bytes.
	d.mustStatus(http.StatusNoContent, d.delete("/api/backends/shop/backups/"+first.ID))
	d.mustStatus(http.StatusNoContent, d.delete("/api/backends/shop/backups/"+failed.ID))
	d.mustStatus(http.StatusOK, d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": "off"}}))
	if bk := d.backup("shop"); bk.State != "ready" {
		t.Fatalf("backup after freeing the quota = %+v", bk)
	}
}

// TestRestoreFromBackupAndUpload: a stored backup and an uploaded archive (tar, then gzip)
// each bring the backend back to what it held; a corrupt upload is refused before anything
// happens.
func TestRestoreFromBackupAndUpload(t *testing.T) {
	p := newTestPlane(t)
	p.developer()
	d := p.developer()
	b := d.createBackend("shop")
	u := fillBackend(t, d, b)
	want := contents(d, "shop")
	bk := d.backup("shop")
	archive := d.mustStatus(http.StatusOK, d.get("/api/backends/shop/backups/"+bk.ID)).body

	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/notes", map[string]any{"title": "after the backup"}))
	d.mustStatus(http.StatusAccepted, d.post("/api/backends/shop/restore", map[string]any{"backupId": bk.ID}))
	d.waitEvent("shop", "restored: 2 documents, 1 user, 1 file")
	d.waitEvent("shop", "restore from backup "+bk.ID+" started")
	waitFor(t, "the restored data", func() bool { return equalContents(contents(d, "shop"), want) })

	// Corrupt, truncated and not-an-archive uploads: 400 invalid_backup, nothing changes, no
	// spooled file stays.
	u.mustStatus(http.StatusOK, u.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/notes", map[string]any{"title": "kept"}))
	changed := contents(d, "shop")
	tampered := bytes.Clone(archive)
	tampered[600] ^= 0xff
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(archive)
	_ = zw.Close()
	for name, c := range map[string]struct {
		body []byte
		ct   string
	}{
		"tampered":       {tampered, "application/x-tar"},
		"truncated":      {archive[:len(archive)/2], "application/x-tar"},
		"not a tar":      {[]byte("hello"), "application/x-tar"},
		"empty":          {nil, "application/x-tar"},
		"not gzip":       {archive, "application/gzip"},
		"truncated gzip": {gz.Bytes()[:gz.Len()/2], "application/gzip"},
	} {
		e := d.raw(http.MethodPost, "/api/backends/shop/restore", bytes.NewReader(c.body), c.ct).expectError(http.StatusBadRequest, "invalid_backup")
		if e.Details["reason"] == "" || e.Details["reason"] == nil {
			t.Errorf("%s: details = %v", name, e.Details)
		}
	}
	if got := contents(d, "shop"); !equalContents(got, changed) {
		t.Fatalf("a refused upload changed the backend:\n%v\nwant\n%v", got, changed)
	}
	entries, _ := os.ReadDir(p.cfg.BackupDir)
	if len(entries) != 1 {
		t.Fatalf("backup directory holds %v", entries)
	}

	// The archive uploaded as it was downloaded, then gzipped: the data of the backup again
	// (each once the previous restore's job has ended, just after its last event).
	waitFor(t, "the restore's job to end", func() bool {
		return d.raw(http.MethodPost, "/api/backends/shop/restore", bytes.NewReader(archive), "application/x-tar").status == http.StatusAccepted
	})
	d.waitEvent("shop", "restore from an uploaded archive started")
	waitFor(t, "the uploaded archive restored", func() bool { return equalContents(contents(d, "shop"), want) })
	u.mustStatus(http.StatusOK, u.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	u.mustStatus(http.StatusCreated, u.send(http.MethodPost, "/notes", map[string]any{"title": "again"}))
	waitFor(t, "the restore's job to end", func() bool {
		return d.raw(http.MethodPost, "/api/backends/shop/restore", bytes.NewReader(gz.Bytes()), "application/gzip").status == http.StatusAccepted
	})
	waitFor(t, "the gzipped archive restored", func() bool { return equalContents(contents(d, "shop"), want) })
	waitFor(t, "the spooled uploads removed", func() bool {
		entries, _ := os.ReadDir(p.cfg.BackupDir)
		return len(entries) == 1
	})
}

// equalContents compares two backends' listings.
func equalContents(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestCopyFromBackup: a backend filled, backed up and purged comes back as a copy holding the
// same documents, users and files, says so in its events, and a backup of the copy lists
// every entry with the size and sha256 of the original's; a copy whose backup fails leaves the
// backend running empty with the reason in lastError.
func TestCopyFromBackup(t *testing.T) {
	p := newTestPlane(t)
	p.developer()
	d := p.developer()
	fillBackend(t, d, d.createBackend("shop"))
	want := contents(d, "shop")
	bk := d.backup("shop")
	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/shop?purge=true"))
	waitFor(t, "the purge", func() bool { return d.get("/api/backends/shop").status == http.StatusNotFound })

	created := d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "copy", "fromBackup": map[string]any{"backend": "shop", "id": bk.ID}})).backend()
	if created.State != "creating" {
		t.Fatalf("created = %+v", created)
	}
	d.waitState("copy", "running")
	d.waitEvent("copy", "restored: 2 documents, 1 user, 1 file")
	if got := contents(d, "copy"); !equalContents(got, want) {
		t.Fatalf("the copy holds\n%v\nwant\n%v", got, want)
	}
	cp := d.get("/api/backends/copy").backend()
	u := p.endUser("copy", cp.APIKey)
	u.mustStatus(http.StatusOK, u.send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"}))
	original, again := d.manifest("shop", bk.ID), d.manifest("copy", d.backup("copy").ID)
	if !slices.Equal(original.Entries, again.Entries) || !maps.Equal(original.Counts, again.Counts) {
		t.Fatalf("a backup of the copy lists\n%v %v\nthe original\n%v %v", again.Counts, again.Entries, original.Counts, original.Entries)
	}

	// The backup's file damaged on disk: the backend still runs, empty, and says why.
	broken := d.backup("copy")
	if err := os.WriteFile(filepath.Join(p.cfg.BackupDir, broken.ID+".tar"), []byte("not an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.mustStatus(http.StatusAccepted, d.post("/api/backends", map[string]any{"name": "broken", "fromBackup": map[string]any{"backend": "copy", "id": broken.ID}}))
	d.waitState("broken", "running")
	ev := d.waitEvent("broken", "restore failed: ")
	if !strings.Contains(ev.Message, "the backend runs empty") {
		t.Fatalf("failed copy event = %+v", ev)
	}
	var users []any
	d.mustStatus(http.StatusOK, d.get("/api/backends/broken/admin/users")).decode(&users)
	if got := d.get("/api/backends/broken").backend(); got.State != "running" || !strings.Contains(got.LastError, "restore failed") || len(users) != 0 {
		t.Fatalf("backend after a failed copy = %+v, users %v", got, users)
	}
}

// TestStaleBackupFailed: a backup left running by a control plane that died is failed by the
// leader, and its temporary file removed.
func TestStaleBackupFailed(t *testing.T) {
	p := newTestPlane(t, withConfig(func(c *Config) { c.BackupTick = 50 * time.Millisecond }))
	d := p.developer()
	d.createBackend("shop")
	long := time.Now().Add(-2 * backupStaleAfter)
	row := store.Backup{ID: newID(), Backend: "shop", OwnerID: "someone", Kind: store.BackupManual, State: store.BackupRunning, CreatedAt: long, UpdatedAt: long}
	if err := p.store.CreateBackup(context.Background(), row); err != nil {
		t.Fatal(err)
	}
	tmp := p.cp.backupTempPath(row.ID)
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stale backup failed", func() bool {
		got, err := p.store.Backup(context.Background(), row.ID)
		return err == nil && got.State == store.BackupFailed
	})
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the stale backup's temporary file is still there: %v", err)
	}
	// The backend may be backed up again.
	if bk := d.backup("shop"); bk.State != "ready" {
		t.Fatalf("backup after = %+v", bk)
	}
}

// TestBackupJobsExclusive: one backup or restore per backend at a time in a process.
func TestBackupJobsExclusive(t *testing.T) {
	j := newJobs()
	backup, err := j.claim("shop", "backup")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.claim("shop", "restore"); err != errBackupInProgress {
		t.Fatalf("restore during a backup: %v", err)
	}
	restore, err := j.claim("other", "restore")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.claim("other", "backup"); err != errRestoreInProgress {
		t.Fatalf("backup during a restore: %v", err)
	}
	backup.free()
	next, err := j.claim("shop", "restore")
	if err != nil {
		t.Fatalf("after free: %v", err)
	}
	backup.end() // after free: frees nothing more
	if _, err := j.claim("shop", "backup"); err != errRestoreInProgress {
		t.Fatalf("the ended job freed the next one's claim: %v", err)
	}
	next.end()
	restore.end()
	j.close()
	if _, err := j.claim("shop", "backup"); err != errJobsClosed {
		t.Fatalf("after close: %v", err)
	}
}

// TestBackupBadInput: every malformed request is refused with its code.
func TestBackupBadInput(t *testing.T) {
	p := newTestPlane(t)
	p.developer()
	d := p.developer()
	d.createBackend("shop")
	unknown := newID() // well formed, never stored
	for _, c := range []struct {
		name   string
		r      *resp
		status int
		code   string
	}{
		{"backup of a missing backend", d.post("/api/backends/nope/backups", nil), 404, "backend_not_found"},
		{"list of a missing backend", d.get("/api/backends/nope/backups"), 404, "backend_not_found"},
		{"list under an invalid name", d.get("/api/backends/NO/backups"), 404, "backend_not_found"},
		{"malformed id", d.get("/api/backends/shop/backups/not-an-id"), 404, "backup_not_found"},
		{"upper-case id", d.get("/api/backends/shop/backups/" + strings.ToUpper(unknown)), 404, "backup_not_found"},
		{"unknown id", d.get("/api/backends/shop/backups/" + unknown), 404, "backup_not_found"},
		{"delete unknown id", d.delete("/api/backends/shop/backups/" + unknown), 404, "backup_not_found"},
		{"delete malformed id", d.delete("/api/backends/shop/backups/..%2F..%2Fcp.db"), 404, "backup_not_found"},
		{"restore unknown id", d.post("/api/backends/shop/restore", map[string]any{"backupId": unknown}), 404, "backup_not_found"},
		{"restore without an id", d.post("/api/backends/shop/restore", map[string]any{}), 404, "backup_not_found"},
		{"restore malformed id", d.post("/api/backends/shop/restore", map[string]any{"backupId": "../x"}), 404, "backup_not_found"},
		{"restore id of the wrong type", d.post("/api/backends/shop/restore", map[string]any{"backupId": 5}), 400, "invalid_json"},
		{"restore unknown field", d.post("/api/backends/shop/restore", map[string]any{"backupId": unknown, "force": true}), 400, "invalid_json"},
		{"restore bad JSON", d.raw(http.MethodPost, "/api/backends/shop/restore", strings.NewReader("{"), "application/json"), 400, "invalid_json"},
		{"restore as text", d.raw(http.MethodPost, "/api/backends/shop/restore", strings.NewReader("x"), "text/plain"), 415, "unsupported_media_type"},
		{"restore without a type", d.raw(http.MethodPost, "/api/backends/shop/restore", strings.NewReader("x"), ""), 415, "unsupported_media_type"},
		{"restore into a missing backend", d.post("/api/backends/nope/restore", map[string]any{"backupId": unknown}), 404, "backend_not_found"},
		{"copy of an unknown backup", d.post("/api/backends", map[string]any{"name": "copy", "fromBackup": map[string]any{"backend": "shop", "id": unknown}}), 404, "backup_not_found"},
		{"copy without an id", d.post("/api/backends", map[string]any{"name": "copy", "fromBackup": map[string]any{"backend": "shop"}}), 404, "backup_not_found"},
		{"copy unknown field", d.post("/api/backends", map[string]any{"name": "copy", "fromBackup": map[string]any{"backend": "shop", "id": unknown, "x": 1}}), 400, "invalid_json"},
		{"copy of the wrong type", d.post("/api/backends", map[string]any{"name": "copy", "fromBackup": "shop"}), 400, "invalid_json"},
		{"patch a missing backend", d.patch("/api/backends/nope", map[string]any{"backups": map[string]any{"keep": 3}}), 404, "backend_not_found"},
		{"patch nothing", d.patch("/api/backends/shop", map[string]any{}), 400, "invalid_input"},
		{"patch unknown field", d.patch("/api/backends/shop", map[string]any{"replicas": 2}), 400, "invalid_json"},
		{"patch unknown backups field", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"every": "day"}}), 400, "invalid_json"},
		{"patch bad schedule", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": "weekly"}}), 400, "invalid_input"},
		{"patch empty schedule", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": ""}}), 400, "invalid_input"},
		{"patch schedule in capitals", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"schedule": "Daily"}}), 400, "invalid_input"},
		{"patch keep 0", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"keep": 0}}), 400, "invalid_input"},
		{"patch keep 1001", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"keep": 1001}}), 400, "invalid_input"},
		{"patch keep as text", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"keep": "3"}}), 400, "invalid_json"},
		{"patch keep fractional", d.patch("/api/backends/shop", map[string]any{"backups": map[string]any{"keep": 2.5}}), 400, "invalid_json"},
		{"patch bad JSON", d.raw(http.MethodPatch, "/api/backends/shop", strings.NewReader(`{"backups":`), "application/json"), 400, "invalid_json"},
		{"patch as text", d.raw(http.MethodPatch, "/api/backends/shop", strings.NewReader(`{}`), "text/plain"), 415, "unsupported_media_type"},
	} {
		t.Run(c.name, func(t *testing.T) { c.r.t = t; c.r.expectError(c.status, c.code) })
	}
	// Nothing of the refused requests stuck.
	if b := d.get("/api/backends/shop"); !bytes.Contains(b.body, []byte(`"backups":{"schedule":"off","keep":7}`)) {
		t.Fatalf("settings after refused patches = %s", b.body)
	}
	d.get("/api/backends/copy").expectError(http.StatusNotFound, "backend_not_found")
}

// TestBackupFailures: a backup whose stream fails, is cut short, does not verify or cannot be
// fetched is failed with the reason, and leaves no file.
func TestBackupFailures(t *testing.T) {
	var archive bytes.Buffer
	w := backuparchive.NewWriter(&archive, map[string]string{"backend": "spy"}, backuparchive.Options{})
	payload := bytes.Repeat([]byte("data "), 20000)
	if err := w.Add("settings.json", int64(len(payload)), bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(archive.Bytes())
	tampered[1000] ^= 1
	var mode atomic.Value
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin/backup" {
			http.NotFound(w, r)
			return
		}
		switch mode.Load() {
		case "good":
			_, _ = w.Write(archive.Bytes())
		case "tampered":
			_, _ = w.Write(tampered)
		case "truncated":
			_, _ = w.Write(archive.Bytes()[:archive.Len()/2])
		case "cut":
			w.Header().Set("Content-Length", strconv.Itoa(archive.Len()))
			_, _ = w.Write(archive.Bytes()[:archive.Len()/2])
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
		case "error":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"code":"internal_error","message":"something went wrong on our side"}}`))
		}
	}))
	defer spy.Close()
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { return &spyRuntime{Runtime: rt, spyURL: spy.URL} }))
	d := p.developer()
	d.createBackend("spy")

	mode.Store("good")
	good := d.backup("spy")
	if good.State != "ready" || good.Bytes != int64(archive.Len()) || good.SHA256 != sha256Hex(archive.Bytes()) {
		t.Fatalf("good backup = %+v", good)
	}
	for m, want := range map[string]string{
		"tampered":  "the archive does not verify",
		"truncated": "the archive does not verify",
		"cut":       "the archive stream broke off",
		"error":     "500 internal_error",
	} {
		mode.Store(m)
		bk := d.backup("spy")
		if bk.State != "failed" || !strings.Contains(bk.Error, want) || bk.SHA256 != "" {
			t.Errorf("%s: backup = %+v, want failed with %q", m, bk, want)
		}
		d.waitEvent("spy", "backup "+bk.ID+" failed: ")
	}
	spy.Close()
	if bk := d.backup("spy"); bk.State != "failed" || !strings.Contains(bk.Error, "did not answer") {
		t.Errorf("unreachable: backup = %+v", bk)
	}
	entries, _ := os.ReadDir(p.cfg.BackupDir)
	if len(entries) != 1 || entries[0].Name() != good.ID+".tar" {
		t.Fatalf("backup directory holds %v", entries)
	}

	// A deleted backend (its data kept) is not running: no backup, no restore.
	d.mustStatus(http.StatusAccepted, d.delete("/api/backends/spy"))
	d.waitState("spy", "deleted")
	d.post("/api/backends/spy/backups", nil).expectError(http.StatusConflict, "backend_not_ready")
	d.post("/api/backends/spy/restore", map[string]any{"backupId": good.ID}).expectError(http.StatusConflict, "backend_not_ready")
}

// TestBackupOneJobAtATime: while a backup or a restore of a backend runs, another backup or
// restore of it is refused, a running backup can be neither downloaded nor deleted, and the
// restore that was held up is then reported in the events.
func TestBackupOneJobAtATime(t *testing.T) {
	var archive bytes.Buffer
	w := backuparchive.NewWriter(&archive, nil, backuparchive.Options{})
	if err := w.Add("settings.json", 2, strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		switch r.URL.Path {
		case "/admin/backup":
			_, _ = w.Write(archive.Bytes())
		case "/admin/restore":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"restored":{"documents:notes":3,"users":2,"files":1},"durationMs":5}`))
		}
	}))
	defer spy.Close()
	p := newTestPlane(t, withRuntime(func(rt runtime.Runtime) runtime.Runtime { return &spyRuntime{Runtime: rt, spyURL: spy.URL} }))
	d := p.developer()
	d.createBackend("spy")

	var running struct{ ID string }
	d.mustStatus(http.StatusAccepted, d.post("/api/backends/spy/backups", nil)).decode(&running)
	d.post("/api/backends/spy/backups", nil).expectError(http.StatusConflict, "backup_in_progress")
	d.raw(http.MethodPost, "/api/backends/spy/restore", bytes.NewReader(archive.Bytes()), "application/x-tar").expectError(http.StatusConflict, "backup_in_progress")
	d.get("/api/backends/spy/backups/"+running.ID).expectError(http.StatusConflict, "backup_not_ready")
	d.delete("/api/backends/spy/backups/"+running.ID).expectError(http.StatusConflict, "backup_in_progress")
	hold <- struct{}{}
	done := d.waitBackup("spy", running.ID)
	if done.State != "ready" {
		t.Fatalf("backup = %+v", done)
	}

	d.mustStatus(http.StatusAccepted, d.post("/api/backends/spy/restore", map[string]any{"backupId": done.ID}))
	d.post("/api/backends/spy/restore", map[string]any{"backupId": done.ID}).expectError(http.StatusConflict, "restore_in_progress")
	d.post("/api/backends/spy/backups", nil).expectError(http.StatusConflict, "restore_in_progress")
	hold <- struct{}{}
	d.waitEvent("spy", "restored: 3 documents, 2 users, 1 file")
	// Over (the job ends just after its last event), the backend takes backups again.
	close(hold)
	var next struct{ ID string }
	waitFor(t, "the restore's job to end", func() bool {
		r := d.post("/api/backends/spy/backups", nil)
		if r.status != http.StatusAccepted {
			r.expectError(http.StatusConflict, "restore_in_progress")
			return false
		}
		r.decode(&next)
		return true
	})
	if bk := d.waitBackup("spy", next.ID); bk.State != "ready" {
		t.Fatalf("backup after the restore = %+v", bk)
	}
}
