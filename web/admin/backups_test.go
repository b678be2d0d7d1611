package admin_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// backupItem is one backup as GET /api/backends/NAME/backups lists it.
type backupItem struct {
	ID        string `json:"id"`
	CreatedAt string `json:"createdAt"`
	State     string `json:"state"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
	Kind      string `json:"kind"`
	Error     string `json:"error"`
}

// backups lists a backend's backups through the control plane's API.
func (c *client) backups(name string) []backupItem {
	c.t.Helper()
	var out []backupItem
	c.do(http.MethodGet, "", "/api/backends/"+name+"/backups", nil, nil, http.StatusOK, &out)
	return out
}

// docsOf lists a collection's documents of any backend through the admin proxy.
func (c *client) docsOf(backend, collection string) []map[string]any {
	c.t.Helper()
	var docs []map[string]any
	c.do(http.MethodGet, "", "/api/backends/"+backend+"/admin/collections/"+collection+"/docs", nil, nil, http.StatusOK, &docs)
	return docs
}

// tarEntries reads a tar archive's entry names, failing the test when it is not a whole tar.
func tarEntries(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("the download is not a tar archive (after %v): %v", names, err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			t.Fatalf("read %s: %v", hdr.Name, err)
		}
		names = append(names, hdr.Name)
	}
}

// backupRow is the selector of a backup's row in the list.
func backupRow(id string) string { return `tr[data-backup="` + id + `"]` }

// chooseArchive picks a file in the Restore from a file form and submits it.
func chooseArchive(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.SetUploadFiles(chromedp.CSS(`form.restore-file input[type=file]`), []string{path}),
		click(`form.restore-file button[type=submit]`))
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestBackups: the Backups tab takes a backup that shows as ready with its size and checksum,
// offers it as a tar download, saves the schedule (refusing a bad Keep in words), refuses a file
// that is not a backup next to the file input, copies a backup into a new backend (checking the
// name first) and goes to it, and deletes a backup after a confirmation; it fits 375 px.
func TestBackups(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections", nil, map[string]string{"name": "notes"}, http.StatusCreated, nil)
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/notes/docs", nil, map[string]any{"n": 1}, http.StatusCreated, nil)

	p.open(ctx, "/backends/shop/backups")
	p.waitText(ctx, ".backups", "No backups yet")
	p.expectLabelled(ctx, "/backends/shop/backups")

	// Back up now: the row becomes ready, with its size and the start of its checksum.
	p.run(ctx, "back up now", click(`button.backup-now`))
	p.waitText(ctx, ".backups-status", "Backup ready")
	list := c.backups("shop")
	if len(list) != 1 || list[0].State != "ready" || list[0].Bytes <= 0 || !sha256Hex.MatchString(list[0].SHA256) || list[0].Kind != "manual" {
		t.Fatalf("backups after Back up now = %+v", list)
	}
	first := list[0]
	row := backupRow(first.ID)
	p.waitText(ctx, row, "Ready")
	p.waitText(ctx, row, "Manual")
	p.waitText(ctx, row, first.SHA256[:12])
	var shown struct{ Size, Title string }
	p.eval(ctx, `(() => { const r = document.querySelector('`+row+`');
		return {size: r.querySelector('td.num').textContent, title: r.querySelector('code.sha').title}; })()`, &shown)
	if !regexp.MustCompile(`^\d+(\.\d)? (B|KB|MB)$`).MatchString(shown.Size) || shown.Title != first.SHA256 {
		t.Errorf("the row shows size %q and checksum title %q, want a size in words and %s", shown.Size, shown.Title, first.SHA256)
	}

	// The download link answers the archive, a tar whose last entry is the manifest.
	var href string
	p.eval(ctx, `document.querySelector('`+row+` a.download').getAttribute('href')`, &href)
	res, err := c.http.Get("http://localhost:" + p.port + href)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("GET %s = %d, Content-Disposition %q", href, res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	names := tarEntries(t, res.Body)
	res.Body.Close()
	if len(names) < 2 || names[len(names)-1] != "manifest.json" {
		t.Fatalf("the download holds %v, want entries ending with manifest.json", names)
	}
	p.screenshot(ctx, "backups")

	// The schedule: a bad Keep is refused beside the field and nothing is saved.
	for _, bad := range []struct{ typed, says string }{
		{"", "how many scheduled backups"}, {"0", "at least 1"}, {"1001", "at most 1000"}, {"two", "whole number"}, {"1.5", "whole number"},
	} {
		p.run(ctx, "keep "+bad.typed, fill(`input[name=keep]`, bad.typed), click(`form.backup-schedule button[type=submit]`))
		p.waitText(ctx, `.field:has(input[name=keep]) .field-error`, bad.says)
	}
	p.run(ctx, "daily, keep 3", chromedp.SetValue(chromedp.CSS(`select[name=schedule]`), "daily"),
		fill(`input[name=keep]`, "3"), click(`form.backup-schedule button[type=submit]`))
	p.waitText(ctx, ".schedule-status", "Saved: every day, keeping the newest 3.")
	if got, _ := c.backend("shop")["backups"].(map[string]any); got["schedule"] != "daily" || got["keep"] != float64(3) {
		t.Fatalf("the backend's backups after saving = %v", got)
	}
	p.open(ctx, "/backends/shop/backups")
	p.eventually(ctx, "the saved schedule after a reload", `document.querySelector('select[name=schedule]').value === 'daily' &&
		document.querySelector('input[name=keep]').value === '3'`)

	// Restoring needs a file; one that is not a backup is refused beside the input, after the
	// confirmation, and nothing changes.
	p.run(ctx, "restore without a file", click(`form.restore-file button[type=submit]`))
	p.waitText(ctx, `form.restore-file .field-error`, "Choose a backup archive first.")
	junk := filepath.Join(t.TempDir(), "notes.tar")
	if err := os.WriteFile(junk, []byte("just some notes, not an archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.run(ctx, "restore from a file that is not a backup", chooseArchive(junk))
	p.acceptConfirm(ctx, "the backup in notes.tar")
	p.waitText(ctx, `form.restore-file .field-error`, "This is not a backup that can be restored")
	p.waitText(ctx, `form.restore-file .field-error`, "Nothing was changed.")
	if docs := c.docsOf("shop", "notes"); len(docs) != 1 {
		t.Fatalf("after a refused restore, notes holds %v", docs)
	}

	// Copy to a new backend: the name is checked as typed and by the server, then the panel
	// goes to the new backend, which holds the backup's data.
	p.run(ctx, "copy", click(row+` button.copy`))
	p.waitText(ctx, "dialog[open]", "Copy to a new backend")
	p.run(ctx, "an invalid name", fill(`dialog[open] input[name=copy-name]`, "Shop"), click(`dialog[open] button[type=submit]`))
	p.waitText(ctx, `dialog[open] .field-error`, "lowercase")
	p.run(ctx, "a taken name", fill(`dialog[open] input[name=copy-name]`, "shop"), click(`dialog[open] button[type=submit]`))
	p.waitText(ctx, `dialog[open] .field-error`, "already in use")
	p.expectLabelled(ctx, "the copy dialog")
	p.run(ctx, "copy to shop-copy", fill(`dialog[open] input[name=copy-name]`, "shop-copy"), click(`dialog[open] button[type=submit]`))
	p.eventually(ctx, "the new backend's page", `location.pathname === '/backends/shop-copy' && !document.querySelector('dialog[open]')`)
	p.waitText(ctx, ".outcome", "Running")
	// The copy is restored once the new backend runs; its API answers 503 until then.
	var docs []map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		status, body := c.get("localhost", "/api/backends/shop-copy/admin/collections/notes/docs", nil)
		if status == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &docs); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if len(docs) != 1 || docs[0]["n"] != float64(1) {
		t.Fatalf("the copy's notes = %v, want the backup's one document", docs)
	}
	p.open(ctx, "/backends/shop-copy")
	p.waitText(ctx, ".steps", "restored: 1 document,")

	// Delete, after a confirmation.
	p.open(ctx, "/backends/shop/backups")
	p.waitText(ctx, row, "Ready")
	p.checkNarrow(ctx, "/backends/shop/backups", "backups")
	p.run(ctx, "delete", click(row+` button.delete`))
	p.acceptConfirm(ctx, "This cannot be undone.")
	p.waitText(ctx, ".backups-status", "Backup deleted.")
	p.waitText(ctx, ".backups", "No backups yet")
	if list := c.backups("shop"); len(list) != 0 {
		t.Fatalf("backups after the delete = %+v", list)
	}
}

// TestBackupsRestore: restoring a backup, after a confirmation that names the backend and says
// its data is replaced and its users signed out, brings back the data it held then (a document
// written since is gone) and ends its end users' sessions.
func TestBackupsRestore(t *testing.T) {
	p, c := startWithBackend(t, "shop")
	ctx := p.browser
	bea := c.endUser("shop", "bea@example.com")
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections", nil, map[string]string{"name": "notes"}, http.StatusCreated, nil)
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/notes/docs", nil, map[string]any{"n": 1}, http.StatusCreated, nil)

	p.open(ctx, "/backends/shop/backups")
	p.run(ctx, "back up now", click(`button.backup-now`))
	p.waitText(ctx, ".backups-status", "Backup ready")
	id := c.backups("shop")[0].ID
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/notes/docs", nil, map[string]any{"n": 2}, http.StatusCreated, nil)

	p.run(ctx, "restore", click(backupRow(id)+` button.restore`))
	p.waitText(ctx, "dialog[open] h2", "Restore shop?")
	p.waitText(ctx, "dialog[open]", "All of shop's current data")
	p.acceptConfirm(ctx, "Its end users are signed out")
	p.waitText(ctx, ".restore-outcome", "Restored.")
	docs := c.docsOf("shop", "notes")
	if len(docs) != 1 || docs[0]["n"] != float64(1) {
		t.Fatalf("after the restore notes holds %v, want only the backup's document", docs)
	}
	p.waitText(ctx, ".restore-progress", "restore from backup "+id+" started")
	var before bool
	p.eval(ctx, `document.querySelector('.restore-progress').textContent.includes('create requested')`, &before)
	if before {
		t.Error("the restore's progress shows events from before it")
	}
	c.do(http.MethodGet, "shop-be.localhost", "/auth/me", bea, nil, http.StatusUnauthorized, nil)
	p.screenshot(ctx, "backups-restored")

	// The same backup, downloaded and gzipped, restores from a file.
	res, err := c.http.Get("http://localhost:" + p.port + "/api/backends/shop/backups/" + id)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "shop.tar.gz")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	_, err = io.Copy(zw, res.Body)
	res.Body.Close()
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	c.do(http.MethodPost, "", "/api/backends/shop/admin/collections/notes/docs", nil, map[string]any{"n": 3}, http.StatusCreated, nil)
	p.run(ctx, "restore from the gzipped file", chooseArchive(archive))
	p.acceptConfirm(ctx, "the backup in shop.tar.gz")
	p.waitText(ctx, "form.restore-file .restore-outcome", "Restored.")
	p.waitText(ctx, "form.restore-file .restore-progress", "restore from an uploaded archive started")
	if docs := c.docsOf("shop", "notes"); len(docs) != 1 || docs[0]["n"] != float64(1) {
		t.Fatalf("after the restore from a file notes holds %v, want only the backup's document", docs)
	}

	// A backup deleted elsewhere cannot be restored: the row says so beside its buttons.
	c.do(http.MethodDelete, "", "/api/backends/shop/backups/"+id, nil, nil, http.StatusNoContent, nil)
	p.run(ctx, "restore a deleted backup", click(backupRow(id)+` button.restore`))
	p.acceptConfirm(ctx, "Restore shop")
	p.waitText(ctx, backupRow(id)+` .backup-actions .row-error`, "That backup no longer exists.")
}
