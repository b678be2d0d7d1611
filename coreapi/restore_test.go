package coreapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/backuparchive"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// restore posts an archive to POST /admin/restore.
func (c *adminClient) restore(archive []byte, contentType string) *response {
	return c.raw(http.MethodPost, "/admin/restore", bytes.NewReader(archive), contentType)
}

// assertSameArchive checks that two backups hold the same entries, byte for byte, and the
// same counts: what a restore brought back is exactly what was backed up.
func assertSameArchive(t *testing.T, want, got backupArchive) {
	t.Helper()
	if fmt.Sprint(want.manifest.Counts) != fmt.Sprint(got.manifest.Counts) {
		t.Fatalf("counts = %v, want %v", got.manifest.Counts, want.manifest.Counts)
	}
	if len(want.manifest.Entries) != len(got.manifest.Entries) {
		t.Fatalf("%d entries, want %d", len(got.manifest.Entries), len(want.manifest.Entries))
	}
	for i, w := range want.manifest.Entries {
		if g := got.manifest.Entries[i]; g != w {
			t.Fatalf("entry %d = %+v, want %+v\ngot:  %q\nwant: %q", i, g, w, got.entries[g.Name], want.entries[w.Name])
		}
	}
}

// rewriteArchive writes b's entries again into a new, valid archive (a fresh manifest that
// vouches for every byte), with change applied to each entry's content and extra entries
// appended: archives a tool could produce but a restore must still refuse.
func rewriteArchive(t *testing.T, b backupArchive, change func(name string, data []byte) []byte, extra ...string) []byte {
	t.Helper()
	var out bytes.Buffer
	w := backuparchive.NewWriter(&out, b.manifest.Source, backuparchive.Options{})
	for _, e := range b.manifest.Entries {
		data := b.entries[e.Name]
		if change != nil {
			data = change(e.Name, data)
		}
		if err := w.Add(e.Name, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range extra {
		if err := w.Add(name, 2, strings.NewReader("{}")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestRestoreBringsEverythingBack(t *testing.T) {
	src := newTestAPI(t)
	filled := fillEverything(t, src)
	backup := downloadBackup(t, src)

	// Another backend with data of its own and a signed-in user, restored from src's backup.
	dst := newTestAPI(t)
	adm := dst.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "other"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/other/docs", map[string]any{"gone": true}))
	adm.deploy("hello", `function onRequest(req) { return "old"; }`, nil)
	c, _ := dst.signedIn()
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("x", "not restored"), field("filename", "stale.txt")))

	res := adm.mustStatus(http.StatusOK, adm.restore(backup.raw, "application/x-tar"))
	var answer restoreAnswer
	res.decode(&answer)
	if fmt.Sprint(answer.Restored) != fmt.Sprint(backup.manifest.Counts) {
		t.Fatalf("restored %v, the archive counts %v", answer.Restored, backup.manifest.Counts)
	}

	// Everything is as it was in src, byte for byte, and nothing of dst's is left.
	assertSameArchive(t, backup, downloadBackup(t, dst))

	// The session from before the restore ended; users sign in with their old passwords.
	c.expectError(c.get("/auth/me"), http.StatusUnauthorized, "not_signed_in")
	u := dst.client()
	u.mustStatus(http.StatusOK, u.post("/auth/login", map[string]string{"email": filled.email, "password": filled.passwd}))
	me := u.mustStatus(http.StatusOK, u.get("/auth/me")).doc()
	if me["_id"] != filled.uid {
		t.Fatalf("signed in as %v, want %s", me["_id"], filled.uid)
	}
	// The restored function runs (not the one dst had), and the restored files are served.
	if got := u.get("/fn/hello"); got.status != http.StatusOK || string(got.body) != `"hi"` {
		t.Fatalf("GET /fn/hello = %d %s", got.status, got.body)
	}
	for name, data := range filled.files {
		got := u.mustStatus(http.StatusOK, u.get("/files/"+filled.uid+"/"+strings.ReplaceAll(name, " ", "%20")))
		if string(got.body) != data {
			t.Fatalf("file %s = %q, want %q", name, got.body, data)
		}
	}
	// The settings came back (the origin of src), but not the API key: dst keeps its own.
	if !dst.srv.data.Settings().OriginAllowed("https://app.example.org") {
		t.Fatal("restored CORS origin not in force")
	}
	bad := dst.client()
	bad.apiKey = filled.newKey
	bad.expectError(bad.get("/collections"), http.StatusUnauthorized, "invalid_api_key")

	// A gzip-compressed archive restores the same.
	adm.mustStatus(http.StatusOK, adm.restore(gzipped(t, backup.raw), "application/gzip"))
	assertSameArchive(t, backup, downloadBackup(t, dst))
}

func TestRestoreRefusesBadArchivesAndChangesNothing(t *testing.T) {
	api := newTestAPI(t)
	filled := fillEverything(t, api)
	before := downloadBackup(t, api)
	good := before.raw
	c, _ := api.signedIn()
	c.apiKey = filled.newKey // the old key stops working during the test
	adm := api.adminClient()
	now := downloadBackup(t, api)

	// Where the first entry's content starts: the first 512-byte header block is the PAX
	// header, then its data, then the entry's own header; every test archive has one.
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x20
		return b
	}
	contentAt := bytes.Index(good, before.entries[core.BackupSettingsEntry])
	if contentAt < 0 {
		t.Fatal("settings.json's content not found in the archive")
	}
	gz := gzipped(t, good)
	badGzip := bytes.Clone(gz)
	badGzip[len(badGzip)-6] ^= 0xff // the CRC-32 of the uncompressed data

	cases := []struct {
		name    string
		archive []byte
		reason  string
	}{
		{"empty", nil, ""},
		{"not an archive", []byte("hello, this is not a tar archive at all"), ""},
		{"a zip", siteZip(t, map[string]string{"index.html": "x"}), ""},
		{"truncated", good[:len(good)/2], ""},
		{"corrupt byte in an entry", flip(contentAt + 2), "sha256"},
		{"corrupt gzip", badGzip, "gzip"},
		{"an entry no backup has", rewriteArchive(t, before, nil, "evil.txt"), "not part of a Backpack backup"},
		{"a collection with a bad name", rewriteArchive(t, before, nil, core.BackupDocumentsDir+"$bad.jsonl"), ""},
		{"a file of no user", rewriteArchive(t, before, nil, core.BackupFileBytesDir+"root/x.txt"), "user id"},
		{"documents of an unlisted collection", rewriteArchive(t, before, nil, core.BackupDocumentsDir+"ghost.jsonl"), "does not list"},
		{"a document that is not JSON", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupDocumentsDir+"bulk.jsonl" {
				return append(data, "{not json\n"...)
			}
			return data
		}), "line 1004"},
		{"a document repeating an earlier one's _id", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupDocumentsDir+"bulk.jsonl" {
				line, _, _ := bytes.Cut(data, []byte("\n"))
				return append(data, append(bytes.Clone(line), '\n')...)
			}
			return data
		}), "line 1004: its _id repeats"},
		{"two documents with one _id in a batch", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupDocumentsDir+"bulk.jsonl" {
				first, rest, _ := bytes.Cut(data, []byte("\n"))
				_, rest, _ = bytes.Cut(rest, []byte("\n"))
				return slices.Concat(first, []byte("\n"), first, []byte("\n"), rest)
			}
			return data
		}), "line 2: its _id repeats"},
		{"a document without _id", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupDocumentsDir+"posts.jsonl" {
				return append(data, `{"title": "no id"}`+"\n"...)
			}
			return data
		}), "no _id"},
		{"two users with one email", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupUsersEntry {
				line, _, _ := bytes.Cut(data, []byte("\n"))
				other := bytes.Clone(line)
				at := bytes.Index(other, []byte(`"$oid":"`)) + len(`"$oid":"`)
				copy(other[at:at+24], "aaaaaaaaaaaaaaaaaaaaaaaa")
				return append(data, append(other, '\n')...)
			}
			return data
		}), "repeats"},
		{"a file's metadata without its bytes", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupFilesEntry {
				return bytes.ReplaceAll(data, []byte(`"filename":"my notes.txt"`), []byte(`"filename":"missing.txt"`))
			}
			return data
		}), "not in the archive"},
		// functions.jsonl comes after the files: this one fails once files are staged.
		{"a function without a source", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupFunctionsEntry {
				return append(data, `{"name":"nosource","version":1}`+"\n"...)
			}
			return data
		}), "needs a source"},
		{"bad settings", rewriteArchive(t, before, func(name string, data []byte) []byte {
			if name == core.BackupSettingsEntry {
				return []byte(`{"corsOrigins": ["not an origin"], "quotas": {}, "functionFetchHosts": []}`)
			}
			return data
		}), "origin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := adm.restore(tc.archive, "application/x-tar")
			adm.expectError(res, http.StatusBadRequest, "invalid_backup")
			if !strings.Contains(string(res.body), tc.reason) {
				t.Fatalf("answer %s does not say %q", res.body, tc.reason)
			}
			assertSameArchive(t, now, downloadBackup(t, api))
			// Nothing ended either: the user's session still works.
			c.mustStatus(http.StatusOK, c.get("/auth/me"))
		})
	}

	small := newTestAPI(t, func(cfg *Config) { cfg.MaxRestoreBytes = 4096 })
	sa := small.adminClient()
	sa.expectError(sa.restore(good, "application/x-tar"), http.StatusRequestEntityTooLarge, "backup_too_large")
	sa.expectError(sa.raw(http.MethodPost, "/admin/restore?force=1", bytes.NewReader(good), "application/x-tar"), http.StatusBadRequest, "invalid_query")
}

// TestRestoreAcrossReplicas restores through one replica while a client uses another: the
// other answers 503 restoring (never half-restored data) while it runs, ends the client's
// session, and serves the restored data afterwards.
func TestRestoreAcrossReplicas(t *testing.T) {
	a := newTestAPI(t)
	b := a.replica()
	adm := a.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "notes"}))
	adm.mustStatus(http.StatusOK, adm.patch("/admin/collections/notes", map[string]string{"rule": "public-read"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"v": "backed up"}))
	adm.deploy("version", `function onRequest(req) { return "v1"; }`, nil)
	backup := downloadBackup(t, a)
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"v": "after the backup"}))
	adm.deploy("version", `function onRequest(req) { return "v2"; }`, nil)

	c, _ := a.signedIn()
	cb := c.on(b)
	waitFor(t, func() bool { return string(cb.get("/fn/version").body) == `"v2"` })
	wsA, wsB := c.dialWS(), cb.dialWS()

	var wg sync.WaitGroup
	var restoreRes *response
	wg.Add(1)
	go func() {
		defer wg.Done()
		restoreRes = adm.restore(backup.raw, "application/x-tar")
	}()
	sawRestoring := false
	deadline := time.Now().Add(30 * time.Second)
	for !sawRestoring && time.Now().Before(deadline) {
		res := cb.get("/notes")
		if res.status == http.StatusServiceUnavailable && res.errorCode() == "restoring" {
			if res.header.Get("Retry-After") == "" {
				t.Fatal("503 restoring without Retry-After")
			}
			sawRestoring = true
		}
		if res.status == http.StatusOK && len(res.docs()) != 2 {
			t.Fatalf("replica b served %d notes during the restore, want the 2 from before or a 503", len(res.docs()))
		}
	}
	wg.Wait()
	// Both replicas closed the user's websocket: its session is over.
	wsA.expectClose(closeSessionEnded)
	wsB.expectClose(closeSessionEnded)
	if !sawRestoring {
		t.Fatal("replica b never answered 503 restoring during the restore")
	}
	if restoreRes.status != http.StatusOK {
		t.Fatalf("restore = %d %s", restoreRes.status, restoreRes.body)
	}
	// On b too the session ended, and b serves the restored data and function.
	cb.expectError(cb.get("/auth/me"), http.StatusUnauthorized, "not_signed_in")
	anon := b.client()
	waitFor(t, func() bool {
		res := anon.get("/notes")
		return res.status == http.StatusOK && len(res.docs()) == 1 && string(anon.get("/fn/version").body) == `"v1"`
	})
	// A second restore while none runs works again; one during another is refused.
	first := make(chan *response, 1)
	go func() { first <- adm.restore(backup.raw, "application/x-tar") }()
	waitFor(t, func() bool { return b.adminClient().get("/admin/info").status == http.StatusServiceUnavailable })
	b.adminClient().expectError(b.adminClient().restore(backup.raw, "application/x-tar"), http.StatusConflict, "restore_in_progress")
	if res := <-first; res.status != http.StatusOK {
		t.Fatalf("restore = %d %s", res.status, res.body)
	}
}

// TestInterruptedRestore: the marker of a restore whose replica died keeps the backend
// answering 503 (its data may be half replaced) until a restore succeeds, which takes the
// marker over.
func TestInterruptedRestore(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "notes"}))
	backup := downloadBackup(t, api)
	stale := time.Now().Add(-time.Hour).UnixMilli()
	err := api.store.Collection("_backend").Insert(context.Background(),
		bson.D{{Key: "_id", Value: "restore"}, {Key: "token", Value: "dead"}, {Key: "beat", Value: stale}})
	if err != nil {
		t.Fatal(err)
	}
	c := api.client()
	waitFor(t, func() bool {
		res := c.get("/collections")
		return res.status == http.StatusServiceUnavailable && res.errorCode() == "restoring" && strings.Contains(string(res.body), "did not finish")
	})
	adm.mustStatus(http.StatusOK, adm.restore(backup.raw, "application/x-tar"))
	c.expectError(c.get("/collections"), http.StatusUnauthorized, "not_signed_in") // served again
	assertSameArchive(t, backup, downloadBackup(t, api))
}
