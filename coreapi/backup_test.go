package coreapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/backuparchive"
	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// backupArchive is a downloaded backup that passed Verify, read whole (test archives are small).
type backupArchive struct {
	raw      []byte
	manifest backuparchive.Manifest
	entries  map[string][]byte
}

// downloadBackup fetches GET /admin/backup, checks its headers, verifies it and reads every
// entry back through Open.
func downloadBackup(t *testing.T, api *testAPI) backupArchive {
	t.Helper()
	adm := api.adminClient()
	res := adm.mustStatus(http.StatusOK, adm.get("/admin/backup"))
	if ct := res.header.Get("Content-Type"); ct != "application/x-tar" {
		t.Fatalf("content type %q", ct)
	}
	cd := res.header.Get("Content-Disposition")
	want := `attachment; filename="backup-` + api.srv.data.Incarnation()[:8] + "-"
	if !strings.HasPrefix(cd, want) || !strings.HasSuffix(cd, `.tar"`) {
		t.Fatalf("content disposition %q, want %s….tar", cd, want)
	}
	m, err := backuparchive.Verify(bytes.NewReader(res.body), backuparchive.Limits{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if m.Source["engine"] != api.store.Engine() || m.Source["incarnation"] != api.srv.data.Incarnation() || m.Source["version"] != Version {
		t.Fatalf("source = %v", m.Source)
	}
	out := backupArchive{raw: res.body, manifest: m, entries: map[string][]byte{}}
	r := backuparchive.Open(bytes.NewReader(res.body), m)
	for {
		e, content, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		data, err := io.ReadAll(content)
		if err != nil {
			t.Fatalf("read %s: %v", e.Name, err)
		}
		out.entries[e.Name] = data
	}
	return out
}

// docs parses an entry of Extended JSON lines.
func (b backupArchive) docs(t *testing.T, name string) []bson.D {
	t.Helper()
	data, ok := b.entries[name]
	if !ok {
		t.Fatalf("no entry %s (entries: %v)", name, slices.Sorted(maps.Keys(b.entries)))
	}
	var out []bson.D
	err := backuparchive.Lines(bytes.NewReader(data), name, 1<<20, func(line []byte) error {
		var d bson.D
		if err := bson.UnmarshalExtJSON(line, true, &d); err != nil {
			return fmt.Errorf("%s: %w", line, err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// assertSameDocuments checks that the archive holds exactly the store's documents of coll,
// byte for byte as BSON, so every type came through.
func assertSameDocuments(t *testing.T, api *testAPI, coll string, got []bson.D) {
	t.Helper()
	stored, err := api.store.Collection(coll).Find(context.Background(), bson.D{}, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(stored) {
		t.Fatalf("%s: %d documents in the archive, %d stored", coll, len(got), len(stored))
	}
	for i := range stored {
		a, errA := bson.Marshal(got[i])
		b, errB := bson.Marshal(stored[i])
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("%s: document %d differs:\narchive %v\nstored  %v", coll, i, got[i], stored[i])
		}
	}
}

// fieldsOf is a document's top-level fields by name.
func fieldsOf(d bson.D) map[string]any {
	m := make(map[string]any, len(d))
	for _, e := range d {
		m[e.Key] = e.Value
	}
	return m
}

// filledBackend is what fillEverything put in a backend.
type filledBackend struct {
	files, site   map[string]string
	source, uid   string
	newKey        string
	email, passwd string
}

// fillEverything puts every kind of data in a backend: collections with rules, an index and
// documents of every type the API stores (more than one backup page), users, files with odd
// names, a site, a function, settings, and a rotated API key.
func fillEverything(t *testing.T, api *testAPI) filledBackend {
	t.Helper()
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "posts"}))
	adm.mustStatus(http.StatusOK, adm.patch("/admin/collections/posts", map[string]string{"rule": "owner"}))
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("posts"), map[string]any{"fields": []string{"title", "-n"}, "unique": true}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "empty"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "bulk"}))
	c, uid := api.signedIn()
	_, _ = api.signedIn()
	mixed := []string{
		`{"title": "héllo 世界 🎒", "n": 42, "f": 3.25, "b": true, "none": null, "big": 9007199254740993,
		  "obj": {"a": [1, "x", {"y": false}], "deep": {"deeper": {"deepest": "ok"}}}, "arr": [1.5, "two", null, {"in": []}], "neg": -7}`,
		`{"title": "second", "n": 0, "f": -0.5, "b": false, "empty": {}, "quote": "a \"quoted\" \\ line\nnext"}`,
		`{"title": "third", "n": 1e3, "tiny": 1e-300, "s": ""}`,
	}
	for _, body := range mixed {
		c.mustStatus(http.StatusCreated, c.raw(http.MethodPost, "/posts", strings.NewReader(body), "application/json"))
	}
	for i := range 1003 {
		adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/bulk/docs", map[string]any{"i": i}))
	}
	f := filledBackend{uid: uid, email: "userx@example.com", passwd: "password123",
		files:  map[string]string{"my notes.txt": "plain words", "résumé ünïcode 日本.txt": "ünïcode bytes ✓", "empty.bin": ""},
		site:   map[string]string{"index.html": "<h1>site</h1>", "assets/app.js": "go()", "assets/deep/space name.css": "body{}"},
		source: `function onRequest(req) { return {status: 200, body: "hi"}; }`}
	for name, data := range f.files {
		c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("x", data), field("filename", name)))
	}
	adm.mustStatus(http.StatusCreated, adm.raw(http.MethodPut, "/admin/site", bytes.NewReader(siteZip(t, f.site)), "application/zip"))
	adm.deploy("hello", f.source, map[string]any{"env": map[string]string{"GREETING": "hi"}})
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{
		"corsOrigins": []string{"https://app.example.org"}, "quotas": map[string]any{"collections": 50},
		"functionFetchHosts": []string{"api.example.org"},
	}))
	rotated := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true})).doc()
	f.newKey, _ = rotated["apiKey"].(string)
	if f.newKey == "" {
		t.Fatalf("rotation gave no key: %v", rotated)
	}
	return f
}

func TestBackupHoldsEverything(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	f := fillEverything(t, api)
	files, site, source, uid, newKey := f.files, f.site, f.source, f.uid, f.newKey

	b := downloadBackup(t, api)

	// No key material anywhere: neither the keys nor their digests.
	digest := func(s string) string { d := sha256.Sum256([]byte(s)); return hex.EncodeToString(d[:]) }
	for _, secret := range []string{testAPIKey, testAdminToken, newKey, digest(testAPIKey), digest(newKey), digest(testAdminToken)} {
		if bytes.Contains(b.raw, []byte(secret)) {
			t.Fatalf("the archive holds key material %q", secret)
		}
	}

	// Settings.
	var settings struct {
		CORSOrigins        []string       `json:"corsOrigins"`
		Quotas             map[string]any `json:"quotas"`
		FunctionFetchHosts []string       `json:"functionFetchHosts"`
	}
	if err := json.Unmarshal(b.entries[core.BackupSettingsEntry], &settings); err != nil {
		t.Fatalf("settings.json: %v", err)
	}
	if !slices.Equal(settings.CORSOrigins, []string{"https://app.example.org"}) || settings.Quotas["collections"] != float64(50) ||
		settings.Quotas["fileBytes"] != nil || !slices.Equal(settings.FunctionFetchHosts, []string{"api.example.org"}) {
		t.Fatalf("settings.json = %s", b.entries[core.BackupSettingsEntry])
	}

	// Collections, rules and indexes, as the admin API lists them.
	var colls []core.BackupCollection
	if err := backuparchive.Lines(bytes.NewReader(b.entries[core.BackupCollectionsEntry]), "", 1<<20, func(line []byte) error {
		var bc core.BackupCollection
		err := json.Unmarshal(line, &bc)
		colls = append(colls, bc)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	listed := collectionsByName(adm.mustStatus(http.StatusOK, adm.get("/admin/collections")).docs())
	if len(colls) != len(listed) || len(colls) != 3 {
		t.Fatalf("collections %+v, admin lists %v", colls, listed)
	}
	for _, bc := range colls {
		l := listed[bc.Name]
		if l == nil || l["rule"] != string(bc.Rule) || l["_createdAt"] != bc.CreatedAt || b.manifest.Counts["documents:"+bc.Name] != int(l["count"].(float64)) {
			t.Fatalf("collection %+v, admin lists %v, counted %d", bc, l, b.manifest.Counts["documents:"+bc.Name])
		}
		var idxs []docstore.Index
		adm.mustStatus(http.StatusOK, adm.get(indexPath(bc.Name))).decode(&idxs)
		if fmt.Sprint(idxs) != fmt.Sprint(bc.Indexes) {
			t.Fatalf("indexes of %s: %+v, admin lists %+v", bc.Name, bc.Indexes, idxs)
		}
		assertSameDocuments(t, api, bc.Name, b.docs(t, core.BackupDocumentsDir+bc.Name+".jsonl"))
	}
	if p := colls[2]; p.Name != "posts" || p.Rule != core.RuleOwner || len(p.Indexes) != 1 || !p.Indexes[0].Unique {
		t.Fatalf("posts = %+v (collections are listed by name)", p)
	}
	posts := b.docs(t, core.BackupDocumentsDir+"posts.jsonl")
	var typed bson.D
	for _, d := range posts {
		if v, _ := fieldsOf(d)["title"].(string); v == "héllo 世界 🎒" {
			typed = d
		}
	}
	m := fieldsOf(typed)
	if _, ok := m["_id"].(bson.ObjectID); !ok || m["f"] != 3.25 || m["b"] != true || m["none"] != nil || m["_owner"] != uid {
		t.Fatalf("typed document = %v", typed)
	}

	// Users with their hashes.
	users := b.docs(t, core.BackupUsersEntry)
	assertSameDocuments(t, api, "_users", users)
	for _, u := range users {
		if h, _ := fieldsOf(u)["passwordHash"].(string); h == "" {
			t.Fatalf("user without hash: %v", u)
		}
	}

	// Files: metadata and bytes.
	metas := b.docs(t, core.BackupFilesEntry)
	assertSameDocuments(t, api, "_files", metas)
	if len(metas) != len(files) {
		t.Fatalf("%d files, want %d", len(metas), len(files))
	}
	for _, meta := range metas {
		mm := fieldsOf(meta)
		owner, name := mm["owner"].(string), mm["filename"].(string)
		data, ok := b.entries[core.BackupFileBytesDir+owner+"/"+name]
		if !ok || string(data) != files[name] {
			t.Fatalf("file %s/%s = %q (%v), want %q", owner, name, data, ok, files[name])
		}
		got := adm.mustStatus(http.StatusOK, adm.get("/admin/files/"+owner+"/"+url.PathEscape(name)))
		if !bytes.Equal(got.body, data) {
			t.Fatalf("file %s differs from its download", name)
		}
	}

	// Site and function.
	for path, content := range site {
		if got := string(b.entries[BackupSiteDir+path]); got != content {
			t.Fatalf("site %s = %q, want %q", path, got, content)
		}
	}
	var fn core.Function
	if err := json.Unmarshal(bytes.TrimSpace(b.entries[core.BackupFunctionsEntry]), &fn); err != nil || fn.Name != "hello" || fn.Source != source || fn.Env["GREETING"] != "hi" {
		t.Fatalf("functions.jsonl = %s (%v)", b.entries[core.BackupFunctionsEntry], err)
	}

	wantCounts := map[string]int{"collections": 3, "users": 2, "files": 3, "functions": 1, "siteFiles": 3,
		"documents:posts": 3, "documents:empty": 0, "documents:bulk": 1003}
	if fmt.Sprint(b.manifest.Counts) != fmt.Sprint(wantCounts) {
		t.Fatalf("counts = %v, want %v", b.manifest.Counts, wantCounts)
	}
	// Every entry is one the layout names.
	for _, e := range b.manifest.Entries {
		if !slices.ContainsFunc([]string{core.BackupSettingsEntry, core.BackupCollectionsEntry, core.BackupUsersEntry, core.BackupFilesEntry,
			core.BackupFunctionsEntry}, func(n string) bool { return n == e.Name }) &&
			!strings.HasPrefix(e.Name, core.BackupDocumentsDir) && !strings.HasPrefix(e.Name, core.BackupFileBytesDir) && !strings.HasPrefix(e.Name, BackupSiteDir) {
			t.Fatalf("unexpected entry %s", e.Name)
		}
	}
}

func TestBackupOfAnEmptyBackend(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.expectError(adm.get("/admin/backup?collections=posts"), http.StatusBadRequest, "invalid_query")
	b := downloadBackup(t, api)
	want := map[string]int{"collections": 0, "users": 0, "files": 0, "functions": 0, "siteFiles": 0}
	if fmt.Sprint(b.manifest.Counts) != fmt.Sprint(want) {
		t.Fatalf("counts = %v", b.manifest.Counts)
	}
	if got := string(b.entries[core.BackupSettingsEntry]); got != `{"quotas":{"collections":null,"fileBytes":null,"userFileBytes":null},"functionFetchHosts":[]}` {
		t.Fatalf("settings.json = %s", got)
	}
}

// TestBackupDuringWrites takes a backup while documents are created and replaced all along:
// the archive verifies and every document in it is whole.
func TestBackupDuringWrites(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "stream"}))

	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		write := func(method, path string, body map[string]any) (map[string]any, error) {
			j, _ := json.Marshal(body)
			req, _ := http.NewRequest(method, api.admin+path, bytes.NewReader(j))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer res.Body.Close()
			var out map[string]any
			if res.StatusCode/100 != 2 {
				return nil, fmt.Errorf("%s %s: %d", method, path, res.StatusCode)
			}
			return out, json.NewDecoder(res.Body).Decode(&out)
		}
		payload := strings.Repeat("p", 2000)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			doc, err := write(http.MethodPost, "/admin/collections/stream/docs", map[string]any{"seq": i, "a": i, "b": i, "payload": payload})
			if err == nil && i%2 == 1 {
				_, err = write(http.MethodPut, "/admin/collections/stream/docs/"+doc["_id"].(string), map[string]any{"seq": i, "a": -i, "b": -i, "payload": payload})
			}
			if err != nil {
				errs <- err
				return
			}
			acked.Add(1)
		}
	}()
	waitFor(t, func() bool { return acked.Load() >= 20 })
	before := acked.Load()
	b := downloadBackup(t, api)
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	docs := b.docs(t, core.BackupDocumentsDir+"stream.jsonl")
	if int64(len(docs)) < before || b.manifest.Counts["documents:stream"] != len(docs) {
		t.Fatalf("%d documents in the archive (counted %d), %d acknowledged before the backup", len(docs), b.manifest.Counts["documents:stream"], before)
	}
	for _, d := range docs {
		m := fieldsOf(d)
		for _, f := range []string{"_id", "seq", "a", "b", "payload", "_createdAt", "_updatedAt"} {
			if _, ok := m[f]; !ok {
				t.Fatalf("document without %s: %v", f, d)
			}
		}
		if m["a"] != m["b"] || len(m["payload"].(string)) != 2000 {
			t.Fatalf("document not whole: %v", d)
		}
	}
}

// TestBackupLeavesOutVanishedFiles: a file whose bytes are gone when the backup opens it (it
// was deleted between the listing and the reading) is left out whole, metadata included.
func TestBackupLeavesOutVanishedFiles(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	for _, name := range []string{"kept.txt", "gone.txt"} {
		c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("x", "bytes of "+name), field("filename", name)))
	}
	if err := os.Remove(filepath.Join(api.cfg.FilesDir, uid, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	b := downloadBackup(t, api)
	metas := b.docs(t, core.BackupFilesEntry)
	if len(metas) != 1 || fieldsOf(metas[0])["filename"] != "kept.txt" || b.manifest.Counts["files"] != 1 {
		t.Fatalf("files.jsonl = %v, counted %d", metas, b.manifest.Counts["files"])
	}
	if _, ok := b.entries[core.BackupFileBytesDir+uid+"/gone.txt"]; ok {
		t.Fatal("the vanished file has an entry")
	}
	if got := string(b.entries[core.BackupFileBytesDir+uid+"/kept.txt"]); got != "bytes of kept.txt" {
		t.Fatalf("kept.txt = %q", got)
	}
}

// TestBackupFailingMidStreamIsNeverWhole: when the backup fails after the archive has started
// (here a site file whose name no archive may hold), the connection is cut and what arrived
// does not pass Verify.
func TestBackupFailingMidStreamIsNeverWhole(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "notes"}))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/notes/docs", map[string]any{"text": strings.Repeat("n", 64<<10)}))
	adm.mustStatus(http.StatusCreated, adm.raw(http.MethodPut, "/admin/site", bytes.NewReader(siteZip(t, map[string]string{"index.html": "x"})), "application/zip"))
	if err := os.WriteFile(filepath.Join(api.cfg.SiteDir, "current", `back\slash.txt`), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := mustRequest(t, http.MethodGet, api.admin+"/admin/backup")
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || len(body) == 0 || err == nil {
		t.Fatalf("status %d with %d bytes, read error %v; want the archive started, then cut", res.StatusCode, len(body), err)
	}
	if _, err := backuparchive.Verify(bytes.NewReader(body), backuparchive.Limits{}); err == nil {
		t.Fatal("a backup cut short verifies")
	}
}
