package local

import (
	"bytes"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport"
)

// TestDataIsPrivate runs a backend the way `backpack dev` does, stores a user, a file and a
// site, and finds no TCP listener of the process answering the Mongo protocol (the database is
// a file, reachable in-process only) and every directory under the data directory 0700 and
// every file 0600 (the database and its journal included), except the site releases, which
// are public content.
func TestDataIsPrivate(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	r := newTestRuntime(t, dataDir)
	spec := testSpec("shop", "private-api-key-0123456789")
	mustApply(t, r, spec)

	wantStatus(t, "register", public(t, r, "shop", spec.APIKey, http.MethodPost, "/auth/register",
		map[string]string{"email": testEmail, "password": testPassword}), http.StatusCreated)
	var tok struct {
		Token string `json:"token"`
	}
	res := public(t, r, "shop", spec.APIKey, http.MethodPost, "/auth/token", map[string]string{"email": testEmail, "password": testPassword})
	wantStatus(t, "token", res, http.StatusOK)
	res.json(t, &tok)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "notes.txt")
	_, _ = part.Write([]byte("private notes"))
	_ = mw.Close()
	h, _ := r.PublicHandler("shop")
	req := httptest.NewRequest(http.MethodPost, "/files", &body)
	req.Header.Set("X-API-Key", spec.APIKey)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	wantStatus(t, "upload", serve(h, req), http.StatusCreated)
	wantStatus(t, "upload site", admin(t, r, "shop", spec.AdminToken, http.MethodPut, "/admin/site",
		bytes.NewReader(siteZip(t, "index.html", "<h1>hi</h1>")), "application/zip"), http.StatusCreated)

	if got := testenv.MongoTCPListeners(t); len(got) > 0 {
		t.Fatalf("TCP listeners answering Mongo: %v", got)
	}
	siteDir := filepath.Join(r.backendDir("shop"), "site")
	var sawFile, sawDatabase bool
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(path, siteDir+string(filepath.Separator)) {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			want = 0o700
		case strings.HasSuffix(path, ferretimport.StoreFile):
			sawDatabase = true
		case strings.HasSuffix(path, "notes.txt"):
			sawFile = true
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawFile || !sawDatabase {
		t.Fatalf("walked no uploaded file (%v) or no database file (%v)", sawFile, sawDatabase)
	}
}
