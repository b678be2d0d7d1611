package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/backpackhq/backpack/tools/backuparchive"
)

// storedBackup is a backup as the control plane lists it.
type storedBackup struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Error  string `json:"error"`
}

// testBackups takes a backup of a Swarm backend (the control plane streams it from the API's
// admin port over backpack_admin), downloads and verifies it, restores it over later changes,
// copies it into a new backend, and checks everything through Traefik; then removes it all and
// finds nothing left.
func testBackups(t *testing.T, p *platformtest.Platform) {
	name := platformtest.UniqueName("vault")
	b := p.Create(name)
	p.FirstAnswer(p.APIURL(name)+"/healthz", 2*time.Minute)
	ann := p.EndUser(name, b.APIKey)
	ann.SignUp("ann@example.com", "password123")
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
	for _, title := range []string{"one", "two", "three"} {
		ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/notes", map[string]any{"title": title, "tags": []any{"x", 1.5, true}}))
	}
	p.MustStatus(http.StatusOK, p.Send(http.MethodPut, "/api/backends/"+name+"/admin/functions/hello", map[string]any{
		"source": `function onRequest() { return "hello from the backup"; }`,
	}))
	p.MustStatus(http.StatusCreated, p.Raw(http.MethodPost, "/api/backends/"+name+"/site",
		bytes.NewReader(platformtest.SiteZip(t, map[string]string{"index.html": "<h1>vault site</h1>"})), "application/zip"))

	// Back up now; the backup becomes ready with its size and checksum.
	var started storedBackup
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodPost, "/api/backends/"+name+"/backups", nil)).Decode(&started)
	ready := waitBackupReady(t, p, name, started.ID)
	dl := p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/api/backends/"+name+"/backups/"+ready.ID, nil))
	sum := sha256.Sum256(dl.Body)
	if int64(len(dl.Body)) != ready.Bytes || hex.EncodeToString(sum[:]) != ready.SHA256 {
		t.Fatalf("download: %d bytes sha256 %x, listed %d %s", len(dl.Body), sum, ready.Bytes, ready.SHA256)
	}
	m, err := backuparchive.Verify(bytes.NewReader(dl.Body), backuparchive.Limits{})
	if err != nil {
		t.Fatalf("the downloaded backup does not verify: %v", err)
	}
	if m.Counts["documents:notes"] != 3 || m.Counts["users"] != 1 || m.Counts["functions"] != 1 || m.Counts["siteFiles"] != 1 {
		t.Fatalf("backup counts = %v", m.Counts)
	}

	// A change after the backup, then a restore: the backend is back at the backup, and ann
	// signs in again with her password.
	ann.MustStatus(http.StatusCreated, ann.Send(http.MethodPost, "/notes", map[string]any{"title": "after the backup"}))
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodPost, "/api/backends/"+name+"/restore", map[string]any{"backupId": ready.ID}))
	waitNotes(t, p, name, b.APIKey, 3)

	// A copy of the backup in a new backend: the same data, function and site.
	copyName := platformtest.UniqueName("vaultcopy")
	p.MustStatus(http.StatusAccepted, p.Send(http.MethodPost, "/api/backends", map[string]any{
		"name": copyName, "fromBackup": map[string]any{"backend": name, "id": ready.ID},
	}))
	cp := p.WaitState(copyName, "running", 4*time.Minute)
	p.FirstAnswer(p.APIURL(copyName)+"/healthz", 2*time.Minute)
	waitNotes(t, p, copyName, cp.APIKey, 3)
	cu := p.EndUser(copyName, cp.APIKey)
	if a := cu.Send(http.MethodGet, "/fn/hello", nil); a.Status != http.StatusOK || !strings.Contains(string(a.Body), "hello from the backup") {
		t.Fatalf("the copy's function: %d %s", a.Status, a.Body)
	}
	p.FirstAnswer(p.SiteURL(copyName)+"/", 2*time.Minute)
	req, _ := http.NewRequest(http.MethodGet, p.SiteURL(copyName)+"/", nil)
	if a := platformtest.Do(t, p.Client(nil), req); a.Status != http.StatusOK || !strings.Contains(string(a.Body), "vault site") {
		t.Fatalf("the copy's site: %d %q", a.Status, a.Body)
	}

	// Purge both and delete the backup: nothing of either stack is left.
	for _, n := range []string{name, copyName} {
		p.MustStatus(http.StatusAccepted, p.Send(http.MethodDelete, "/api/backends/"+n+"?purge=true", nil))
	}
	for _, n := range []string{name, copyName} {
		p.WaitGone(n, 3*time.Minute)
		if left := swarmtest.StackObjects(t, p.Cli, n); len(left) > 0 {
			t.Fatalf("left after purging %s: %v", n, left)
		}
	}
	p.MustStatus(http.StatusNoContent, p.Send(http.MethodDelete, "/api/backends/"+name+"/backups/"+ready.ID, nil))
	// With the backend purged and its only backup deleted, nothing of the name is left: the
	// list answers as for any unknown backend.
	if a := p.Send(http.MethodGet, "/api/backends/"+name+"/backups", nil); a.Status != http.StatusNotFound || !strings.Contains(string(a.Body), "backend_not_found") {
		t.Fatalf("backups after deleting the only one: %d %s", a.Status, a.Body)
	}
}

// waitBackupReady waits for a backup to be ready, failing at once if it failed.
func waitBackupReady(t *testing.T, p *platformtest.Platform, backend, id string) storedBackup {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var list []storedBackup
		p.MustStatus(http.StatusOK, p.Send(http.MethodGet, "/api/backends/"+backend+"/backups", nil)).Decode(&list)
		for _, bk := range list {
			switch {
			case bk.ID != id:
			case bk.State == "failed":
				t.Fatalf("backup failed: %s", bk.Error)
			case bk.State == "ready":
				return bk
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("backup %s of %s not ready within 2 minutes", id, backend)
	return storedBackup{}
}

// waitNotes waits until ann, signing in afresh, reads exactly n notes on the backend.
func waitNotes(t *testing.T, p *platformtest.Platform, backend, apiKey string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		u := p.EndUser(backend, apiKey)
		login := u.Send(http.MethodPost, "/auth/login", map[string]any{"email": "ann@example.com", "password": "password123"})
		if login.Status == http.StatusOK {
			var notes []map[string]any
			a := u.Send(http.MethodGet, "/notes", nil)
			if a.Status == http.StatusOK {
				a.Decode(&notes)
				if len(notes) == n {
					return
				}
			}
			last = string(a.Body)
		} else {
			last = string(login.Body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s never had %d notes for ann; last answer %s", backend, n, last)
}
