package coreapi

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/core"
)

func filePart(name string, data string) formPart {
	return formPart{field: "file", filename: name, data: []byte(data)}
}

func field(name, value string) formPart { return formPart{field: name, data: []byte(value)} }

// assertDiskMatchesMetadata checks the invariant of the file store: every recorded file has its
// bytes on disk with the recorded size, no bytes lie on disk unrecorded, and no temp file is left.
func assertDiskMatchesMetadata(t *testing.T, api *testAPI) {
	t.Helper()
	metas, err := api.srv.data.ListFiles(t.Context(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int64{}
	for _, m := range metas {
		recorded[filepath.Join(m.Owner, m.Filename)] = m.Size
	}
	onDisk := map[string]int64{}
	_ = filepath.WalkDir(api.cfg.FilesDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(api.cfg.FilesDir, p)
		info, _ := d.Info()
		onDisk[rel] = info.Size()
		return nil
	})
	for p, size := range onDisk {
		if strings.HasPrefix(p, core.TempDir+string(filepath.Separator)) {
			t.Errorf("temp file left behind: %s", p)
		} else if rs, ok := recorded[p]; !ok || rs != size {
			t.Errorf("file on disk %s (%d bytes) has metadata size %d (recorded: %v)", p, size, rs, ok)
		}
	}
	for p := range recorded {
		if _, ok := onDisk[p]; !ok {
			t.Errorf("metadata for %s without bytes on disk", p)
		}
	}
}

func TestFilesLifecycle(t *testing.T) {
	api := newTestAPI(t)
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()
	meta := ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", filePart("ignored.bin", "hello world"), field("filename", "greeting.txt"), field("bucket", "notes"))).doc()
	if meta["filename"] != "greeting.txt" || meta["bucket"] != "notes" || meta["size"] != float64(11) || meta["owner"] != annID ||
		meta["contentType"] != "text/plain; charset=utf-8" || len(meta["_id"].(string)) != 24 || meta["_createdAt"] == nil {
		t.Fatalf("upload meta = %v", meta)
	}
	// The part's own filename is used when no filename field is sent; the bucket defaults.
	img := ann.mustStatus(http.StatusCreated, ann.upload(http.MethodPost, "/files", formPart{field: "file", filename: "pic.png", contentType: "image/png", data: []byte("\x89PNG....")})).doc()
	if img["filename"] != "pic.png" || img["bucket"] != "default" || img["contentType"] != "image/png" {
		t.Fatalf("image meta = %v", img)
	}
	ann.expectError(ann.upload(http.MethodPost, "/files", filePart("x", "again"), field("filename", "greeting.txt")), 409, "file_exists")

	list := ann.mustStatus(http.StatusOK, ann.get("/files")).docs()
	if len(list) != 2 || list[0]["filename"] != "greeting.txt" || list[1]["filename"] != "pic.png" {
		t.Fatalf("list = %v", list)
	}
	if l := ann.mustStatus(http.StatusOK, ann.get("/files?bucket=notes")).docs(); len(l) != 1 {
		t.Fatalf("bucket list = %v", l)
	}
	if l := bob.mustStatus(http.StatusOK, bob.get("/files")).docs(); len(l) != 0 {
		t.Fatalf("bob's own list = %v", l)
	}
	if l := bob.mustStatus(http.StatusOK, bob.get("/files?userId="+annID)).docs(); len(l) != 2 {
		t.Fatalf("bob's list of ann's files = %v", l)
	}

	got := bob.mustStatus(http.StatusOK, bob.get("/files/"+annID+"/greeting.txt"))
	if string(got.body) != "hello world" || got.header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		got.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(got.header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("get = %q %v", got.body, got.header)
	}
	api.client().expectError(api.client().get("/files/"+annID+"/greeting.txt"), 401, "not_signed_in")

	renamed := ann.mustStatus(http.StatusOK, ann.patch("/files/greeting.txt", map[string]string{"filename": "hello file.txt", "bucket": "misc"})).doc()
	if renamed["filename"] != "hello file.txt" || renamed["bucket"] != "misc" || renamed["_id"] != meta["_id"] {
		t.Fatalf("renamed = %v", renamed)
	}
	ann.expectError(ann.get("/files/"+annID+"/greeting.txt"), 404, "file_not_found")
	if b := ann.mustStatus(http.StatusOK, ann.get("/files/"+annID+"/"+url.PathEscape("hello file.txt"))).body; string(b) != "hello world" {
		t.Fatalf("renamed bytes = %q", b)
	}
	ann.expectError(ann.patch("/files/pic.png", map[string]string{"filename": "hello file.txt"}), 409, "file_exists")
	ann.expectError(ann.patch("/files/pic.png", map[string]string{}), 400, "invalid_request")
	ann.expectError(ann.patch("/files/nope.txt", map[string]string{"bucket": "x"}), 404, "file_not_found")
	bob.expectError(bob.patch("/files/pic.png", map[string]string{"bucket": "stolen"}), 404, "file_not_found")

	over := ann.mustStatus(http.StatusOK, ann.upload(http.MethodPut, "/files/"+url.PathEscape("hello file.txt"), filePart("whatever", "a longer greeting"))).doc()
	if over["size"] != float64(17) || over["filename"] != "hello file.txt" || over["bucket"] != "misc" || over["_createdAt"] != meta["_createdAt"] {
		t.Fatalf("overwrite meta = %v", over)
	}
	if b := ann.get("/files/" + annID + "/" + url.PathEscape("hello file.txt")).body; string(b) != "a longer greeting" {
		t.Fatalf("overwritten bytes = %q", b)
	}
	ann.expectError(ann.upload(http.MethodPut, "/files/nope.txt", filePart("x", "y")), 404, "file_not_found")
	ann.expectError(ann.upload(http.MethodPut, "/files/pic.png", filePart("x", "y"), field("bucket", "b")), 400, "invalid_multipart")

	deleted := ann.mustStatus(http.StatusOK, ann.del("/files/pic.png")).doc()
	if deleted["filename"] != "pic.png" {
		t.Fatalf("deleted = %v", deleted)
	}
	ann.expectError(ann.del("/files/pic.png"), 404, "file_not_found")
	ann.expectError(ann.get("/files/"+annID+"/pic.png"), 404, "file_not_found")
	assertDiskMatchesMetadata(t, api)
}

func TestFileNamesCannotEscape(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	secret := filepath.Join(filepath.Dir(api.cfg.FilesDir), "secret.txt")
	_ = os.WriteFile(secret, []byte("top secret"), 0o600)
	for _, name := range []string{"..", "../secret.txt", "../../etc/passwd", "a/b", `..\secret.txt`, "a\x00b", "line\nfeed", "..hidden", strings.Repeat("x", 256), "."} {
		c.expectError(c.upload(http.MethodPost, "/files", filePart("ok.txt", "x"), field("filename", name)), 400, "invalid_name")
		if r := c.upload(http.MethodPost, "/files", filePart(name, "x")); strings.ContainsAny(name, "\x00\n") {
			// A raw NUL or newline in a part header breaks the multipart framing itself.
			c.expectError(r, 400, "invalid_multipart")
		} else {
			c.expectError(r, 400, "invalid_name")
		}
	}
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("ok.txt", "x")))
	c.expectError(c.patch("/files/ok.txt", map[string]string{"filename": "../../escaped.txt"}), 400, "invalid_name")
	c.expectError(c.patch("/files/ok.txt", map[string]string{"bucket": "../x"}), 400, "invalid_name")
	for _, p := range []string{"/files/" + uid + "/..%2F..%2Fsecret.txt", "/files/" + uid + "/%2e%2e", "/files/" + uid + "/a%00b", "/files/" + uid + "/a%5Cb"} {
		r := c.get(p)
		if r.status != 400 && r.status != 404 || bytes.Contains(r.body, []byte("top secret")) {
			t.Errorf("GET %s = %d %s", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/files/..%2F..%2Fsecret.txt", "/files/%2e%2e"} {
		c.expectError(c.del(p), 400, "invalid_name")
		c.expectError(c.upload(http.MethodPut, p, filePart("x", "pwned")), 400, "invalid_name")
	}
	c.expectError(c.get("/files/../secret.txt/x"), 404, "file_not_found")
	// A percent sign is an ordinary character in a name: decoded exactly once.
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("100%.txt", "percent")))
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("aA.txt", "other")))
	if b := c.mustStatus(http.StatusOK, c.get("/files/"+uid+"/100%25.txt")).body; string(b) != "percent" {
		t.Fatalf("100%%.txt = %q", b)
	}
	c.expectError(c.get("/files/"+uid+"/a%2541.txt"), 404, "file_not_found")
	c.mustStatus(http.StatusOK, c.del("/files/100%25.txt"))
	if b, _ := os.ReadFile(secret); string(b) != "top secret" {
		t.Fatal("file outside the files directory was changed")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(api.cfg.FilesDir), "escaped.txt")); err == nil {
		t.Fatal("a file was written outside the files directory")
	}
	assertDiskMatchesMetadata(t, api)
}

func TestUploadRejections(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.MaxUploadBytes = 1024 })
	c, _ := api.signedIn()
	big := strings.Repeat("x", 1025)
	c.expectError(c.upload(http.MethodPost, "/files", filePart("big.bin", big)), 413, "payload_too_large")
	// Without a Content-Length the limit still holds while streaming.
	body, ct := multipartBody(filePart("big.bin", strings.Repeat("y", 200_000)))
	req, _ := http.NewRequest(http.MethodPost, api.url+"/files", struct{ *bytes.Reader }{bytes.NewReader(readAll(body))})
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-API-Key", testAPIKey)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized upload: %d", res.StatusCode)
	}
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("exact.bin", strings.Repeat("z", 1024))))
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("empty.txt", "")))
	c.expectError(c.upload(http.MethodPut, "/files/exact.bin", filePart("exact.bin", big)), 413, "payload_too_large")
	if b := c.get("/files/" + c.userID(t) + "/exact.bin").body; len(b) != 1024 {
		t.Fatalf("refused overwrite changed the file: %d bytes", len(b))
	}

	c.expectError(c.post("/files", map[string]string{"file": "x"}), 415, "unsupported_media_type")
	c.expectError(c.raw(http.MethodPost, "/files", strings.NewReader("raw bytes"), "application/octet-stream"), 415, "unsupported_media_type")
	c.expectError(c.upload(http.MethodPost, "/files", field("filename", "no-file.txt")), 400, "missing_file")
	c.expectError(c.upload(http.MethodPost, "/files", filePart("a.txt", "x"), filePart("b.txt", "y")), 400, "invalid_multipart")
	c.expectError(c.upload(http.MethodPost, "/files", filePart("a.txt", "x"), field("owner", "someone")), 400, "invalid_multipart")
	c.expectError(c.upload(http.MethodPost, "/files", filePart("a.txt", "x"), field("bucket", "bad bucket")), 400, "invalid_name")
	c.expectError(c.upload(http.MethodPost, "/files", filePart("a.txt", "x"), field("filename", strings.Repeat("n", 2000))), 400, "invalid_multipart")
	c.expectError(c.raw(http.MethodPost, "/files", strings.NewReader("--nope\r\ngarbage"), "multipart/form-data; boundary=nope"), 400, "invalid_multipart")
	c.expectError(c.raw(http.MethodPost, "/files", strings.NewReader("x"), "multipart/form-data"), 400, "invalid_multipart")
	api.client().expectError(api.client().upload(http.MethodPost, "/files", filePart("a.txt", "x")), 401, "not_signed_in")
	if l := c.get("/files").docs(); len(l) != 2 {
		t.Fatalf("files after refused uploads = %v", l)
	}
	assertDiskMatchesMetadata(t, api)
}

func TestConcurrentUploadsOfOneNameAgree(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = c.upload(http.MethodPost, "/files", filePart("race.txt", strings.Repeat(string(rune('a'+i)), 10+i))).status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("unexpected status %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d uploads of one name succeeded", created)
	}
	meta := c.get("/files").docs()[0]
	if b := c.get("/files/" + uid + "/race.txt").body; float64(len(b)) != meta["size"] {
		t.Fatalf("bytes (%d) and metadata (%v) disagree", len(b), meta["size"])
	}
	assertDiskMatchesMetadata(t, api)
}

func TestOrphanFileIsReclaimed(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	// A crash between naming and recording leaves bytes without metadata.
	dir := filepath.Join(api.cfg.FilesDir, uid)
	_ = os.MkdirAll(dir, 0o750)
	orphan := filepath.Join(dir, "crash.txt")
	_ = os.WriteFile(orphan, []byte("stale"), 0o640)
	c.expectError(c.upload(http.MethodPost, "/files", filePart("crash.txt", "fresh")), 409, "file_exists")
	old := time.Now().Add(-2 * core.OrphanAge)
	_ = os.Chtimes(orphan, old, old)
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", filePart("crash.txt", "fresh")))
	if b := c.get("/files/" + uid + "/crash.txt").body; string(b) != "fresh" {
		t.Fatalf("bytes = %q", b)
	}
	assertDiskMatchesMetadata(t, api)
}

func readAll(r interface{ Read([]byte) (int, error) }) []byte {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r)
	return buf.Bytes()
}

func (c *client) userID(t *testing.T) string {
	var u core.PublicUser
	c.mustStatus(http.StatusOK, c.get("/auth/me")).decode(&u)
	return u.ID
}
