package coreapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// quotaView is what GET /admin/settings says about quotas and usage.
type quotaView struct {
	Quotas Quotas          `json:"quotas"`
	Usage  core.QuotaUsage `json:"usage"`
}

func quotasOf(api *testAPI) quotaView {
	api.t.Helper()
	adm := api.adminClient()
	var v quotaView
	adm.mustStatus(http.StatusOK, adm.get("/admin/settings")).decode(&v)
	return v
}

// setQuotas changes quotas through the admin port, as the panel does.
func setQuotas(api *testAPI, q map[string]any) quotaView {
	api.t.Helper()
	adm := api.adminClient()
	var v quotaView
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"quotas": q})).decode(&v)
	return v
}

// expectQuotaExceeded checks a refusal names the quota, its limit and the usage it found.
func expectQuotaExceeded(c *client, r *response, quota string, limit, used int64) {
	c.api.t.Helper()
	c.expectError(r, http.StatusForbidden, "quota_exceeded")
	var e httpapi.ErrorBody
	r.decode(&e)
	d := e.Error.Details
	if d["quota"] != quota || d["limit"] != float64(limit) || d["used"] != float64(used) {
		c.api.t.Fatalf("details = %v, want quota %s limit %d used %d", d, quota, limit, used)
	}
}

func fileOfSize(name string, n int) formPart {
	return formPart{field: "file", filename: name, data: bytes.Repeat([]byte("x"), n)}
}

// TestQuotaDefaults: a backend starts with the documented quotas, and usage is reported.
func TestQuotaDefaults(t *testing.T) {
	api := newTestAPI(t)
	v := quotasOf(api)
	want := Quotas{Collections: 100, FileBytes: 1 << 30, UserFileBytes: 100 << 20}
	if v.Quotas != want {
		t.Fatalf("quotas = %+v, want %+v", v.Quotas, want)
	}
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "notes"}))
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", fileOfSize("a.txt", 1000)))
	if u := quotasOf(api).Usage; u.Collections != 1 || u.FileBytes != 1000 {
		t.Fatalf("usage = %+v, want 1 collection and 1000 bytes", u)
	}
}

// TestQuotaCollections: at the collections quota a new collection is refused and nothing is
// created; the admin, who is trusted, is not held to it.
func TestQuotaCollections(t *testing.T) {
	api := newTestAPI(t)
	setQuotas(api, map[string]any{"collections": 2})
	c, _ := api.signedIn()
	for _, name := range []string{"a", "b"} {
		c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": name}))
	}
	expectQuotaExceeded(c, c.post("/collections", map[string]string{"name": "c"}), "collections", 2, 2)
	c.expectError(c.get("/c"), http.StatusNotFound, "collection_not_found")
	if n := len(c.mustStatus(http.StatusOK, c.get("/collections")).docs()); n != 2 {
		t.Fatalf("%d collections after a refusal, want 2", n)
	}
	// An existing name still says it exists.
	c.expectError(c.post("/collections", map[string]string{"name": "a"}), http.StatusConflict, "collection_exists")

	adm := api.adminClient()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "byAdmin"}))
	if u := quotasOf(api).Usage; u.Collections != 3 {
		t.Fatalf("usage = %+v, want 3 collections", u)
	}
	// Dropping one makes room again only below the quota.
	adm.mustStatus(http.StatusOK, adm.del("/admin/collections/byAdmin"))
	adm.mustStatus(http.StatusOK, adm.del("/admin/collections/b"))
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "c"}))
}

// TestQuotaFileBytes: an upload or a replacement that would take the backend's files, or one
// user's files, over their quota is refused, and nothing is stored.
func TestQuotaFileBytes(t *testing.T) {
	api := newTestAPI(t)
	setQuotas(api, map[string]any{"fileBytes": 3000, "userFileBytes": 2000})
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()

	ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", fileOfSize("one", 1500)))
	expectQuotaExceeded(ann, ann.upload(http.MethodPost, "/files", fileOfSize("two", 600)), "userFileBytes", 2000, 1500)
	ann.expectError(ann.get("/files/"+annID+"/two"), http.StatusNotFound, "file_not_found")
	// Replacing grows the file by the difference only.
	ann.mustStatus(http.StatusOK, ann.upload(http.MethodPut, "/files/one", fileOfSize("one", 2000)))
	expectQuotaExceeded(ann, ann.upload(http.MethodPut, "/files/one", fileOfSize("one", 2001)), "userFileBytes", 2000, 2000)
	if m := ann.mustStatus(http.StatusOK, ann.get("/files")).docs(); len(m) != 1 || m[0]["size"] != float64(2000) {
		t.Fatalf("files after a refused replacement: %v", m)
	}
	// Shrinking always works.
	ann.mustStatus(http.StatusOK, ann.upload(http.MethodPut, "/files/one", fileOfSize("one", 1000)))

	bob.mustStatus(http.StatusCreated, bob.upload(http.MethodPost, "/files", fileOfSize("b1", 1500)))
	expectQuotaExceeded(bob, bob.upload(http.MethodPost, "/files", fileOfSize("b2", 501)), "fileBytes", 3000, 2500)
	bob.mustStatus(http.StatusCreated, bob.upload(http.MethodPost, "/files", fileOfSize("b2", 500)))
	assertDiskMatchesMetadata(t, api)
	if u := quotasOf(api).Usage; u.FileBytes != 3000 {
		t.Fatalf("usage = %+v, want 3000 bytes", u)
	}

	// Deleting frees the space at once.
	ann.mustStatus(http.StatusOK, ann.del("/files/one"))
	ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", fileOfSize("two", 1000)))
}

// TestQuotaParallelUploads: many uploads at once, spread over two replicas, never take the
// files past the byte quota: each is checked and recorded under the backend-wide files lock.
func TestQuotaParallelUploads(t *testing.T) {
	api := newTestAPI(t)
	other := api.replica()
	setQuotas(api, map[string]any{"fileBytes": 4500, "userFileBytes": 0})
	const uploads, size = 10, 1000
	clients := make([]*client, uploads)
	for i := range clients {
		c, _ := api.signedIn()
		if i%2 == 1 {
			c = c.on(other)
		}
		clients[i] = c
	}
	statuses := make([]int, uploads)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { statuses[i] = rawUpload(c, fmt.Sprintf("f%d", i), size) })
	}
	wg.Wait()
	stored := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			stored++
		case http.StatusForbidden:
		default:
			t.Fatalf("upload %d answered %d", i, s)
		}
	}
	// The check and the record are one step under a lock: exactly as many as fit are stored.
	if stored != 4 {
		t.Fatalf("%d uploads of %d bytes stored under a quota of 4500 bytes, want 4", stored, size)
	}
	if u := quotasOf(api).Usage; u.FileBytes != int64(stored*size) || u.FileBytes > 4500 {
		t.Fatalf("usage = %+v with %d uploads stored", u, stored)
	}
	assertDiskMatchesMetadata(t, api)
}

// rawUpload uploads n bytes from a goroutine (no t.Fatal there) and returns the status.
func rawUpload(c *client, name string, n int) int {
	body, ct := multipartBody(fileOfSize(name, n))
	return rawPost(c, "/files", body, ct)
}

// rawPost sends a POST from a goroutine and returns the status (0 if it could not be sent).
func rawPost(c *client, path string, body io.Reader, ct string) int {
	req, err := http.NewRequest(http.MethodPost, c.api.url+path, body)
	if err != nil {
		return 0
	}
	req.Header.Set("X-API-Key", c.apiKey)
	req.Header.Set("Content-Type", ct)
	res, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestQuotaParallelCollections: collections created at once through two replicas stop exactly
// at the quota.
func TestQuotaParallelCollections(t *testing.T) {
	api := newTestAPI(t)
	other := api.replica()
	setQuotas(api, map[string]any{"collections": 3})
	c, _ := api.signedIn()
	onOther := c.on(other)
	const creates = 10
	statuses := make([]int, creates)
	var wg sync.WaitGroup
	for i := range creates {
		cl := c
		if i%2 == 1 {
			cl = onOther
		}
		wg.Go(func() {
			statuses[i] = rawPost(cl, "/collections", strings.NewReader(fmt.Sprintf(`{"name": "c%d"}`, i)), "application/json")
		})
	}
	wg.Wait()
	created := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusForbidden:
		default:
			t.Fatalf("create %d answered %d", i, s)
		}
	}
	if n := len(c.mustStatus(http.StatusOK, c.get("/collections")).docs()); created != 3 || n != 3 {
		t.Fatalf("%d creates succeeded and %d collections exist under a quota of 3", created, n)
	}
}

// TestQuotaRaisedOnAnotherReplica: a quota changed through one replica's admin port applies on
// the others without a restart.
func TestQuotaRaisedOnAnotherReplica(t *testing.T) {
	a := newTestAPI(t)
	b := a.replica()
	setQuotas(a, map[string]any{"collections": 1})
	c, _ := a.signedIn()
	onB := c.on(b)
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "first"}))
	waitFor(t, func() bool {
		return onB.post("/collections", map[string]string{"name": "second"}).errorCode() == "quota_exceeded"
	})
	setQuotas(a, map[string]any{"collections": 2})
	waitFor(t, func() bool { return quotasOf(b).Quotas.Collections == 2 })
	onB.mustStatus(http.StatusCreated, onB.post("/collections", map[string]string{"name": "second"}))
}

// TestQuotaSettingsValidation: quotas are whole numbers, 0 meaning unlimited; anything else is
// refused with the contract's error shape and changes nothing.
func TestQuotaSettingsValidation(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	for _, body := range []string{
		`{"quotas": {"collections": -1}}`,
		`{"quotas": {"fileBytes": 1.5}}`,
		`{"quotas": {"userFileBytes": "100"}}`,
		`{"quotas": {"documents": 5}}`,
		`{"quotas": 3}`,
	} {
		r := adm.send(http.MethodPatch, "/admin/settings", body)
		if r.status != http.StatusBadRequest || !strings.HasPrefix(r.errorCode(), "invalid_") {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
	}
	if q := quotasOf(api).Quotas; q.Collections != DefaultQuotaCollections {
		t.Fatalf("quotas changed by refused requests: %+v", q)
	}
	v := setQuotas(api, map[string]any{"collections": 0, "userFileBytes": 5})
	if v.Quotas != (Quotas{Collections: 0, FileBytes: DefaultQuotaFileBytes, UserFileBytes: 5}) {
		t.Fatalf("after a partial change: %+v", v.Quotas)
	}
	// 0 is unlimited.
	c, _ := api.signedIn()
	for i := range 3 {
		c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": fmt.Sprintf("c%d", i)}))
	}
	var raw map[string]json.RawMessage
	adm.mustStatus(http.StatusOK, adm.get("/admin/settings")).decode(&raw)
	if _, ok := raw["usage"]; !ok {
		t.Fatalf("settings without usage: %v", raw)
	}
}
