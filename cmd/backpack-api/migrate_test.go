package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/docstore/ferretimport"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport/ferretfixture"
)

// TestEmbeddedMigratesThePreviousVersionsData starts the new binary on a data directory the
// previous version wrote (documents in an embedded FerretDB): every end user signs in with
// their old password, sees their documents and downloads their files byte for byte, the site
// is still published, and FerretDB's directory is kept aside, not deleted. A second start
// finds nothing left to migrate and the same data.
func TestEmbeddedMigratesThePreviousVersionsData(t *testing.T) {
	dataDir := ferretfixture.Copy(t, ferretfixture.Embedded)
	want := ferretfixture.Load(t, ferretfixture.Embedded)
	backend := want.Backends[""]
	notes, err := want.Databases["backpack"]["notes"].Docs()
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		p := start(t, []string{"--embedded", "--data-dir", dataDir}, nil)
		if _, err := os.Stat(filepath.Join(dataDir, ferretimport.StoreFile)); err != nil {
			t.Fatalf("round %d: no sqlite database after start: %v", round, err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, ferretimport.OldDirName)); !os.IsNotExist(err) {
			t.Fatalf("round %d: the old FerretDB directory is still in place (%v)", round, err)
		}
		if _, err := os.Stat(filepath.Join(dataDir, ferretimport.OldDirName+ferretimport.AsideSuffix)); err != nil {
			t.Fatalf("round %d: the old FerretDB directory was not kept aside: %v", round, err)
		}
		anon := call{key: backend.APIKey}
		for email, password := range backend.Passwords {
			status, body := anon.do(t, http.MethodPost, p.url+"/auth/token", map[string]string{"email": email, "password": password})
			expectStatus(t, "sign in as "+email+" with the old password", status, http.StatusOK, body)
			user := call{key: backend.APIKey, token: body["token"].(string)}
			_, me := user.do(t, http.MethodGet, p.url+"/auth/me", nil)
			uid, _ := me["_id"].(string)
			// notes has the owner rule: each user sees the notes they wrote, all of them.
			req, _ := http.NewRequest(http.MethodGet, p.url+"/notes?sort=_createdAt", nil)
			var listed []map[string]any
			if status := user.getJSON(t, req, &listed); status != http.StatusOK {
				t.Fatalf("round %d: list notes of %s: %d", round, email, status)
			}
			var own []string
			for _, d := range notes {
				fields := map[string]any{}
				for _, e := range d {
					fields[e.Key] = e.Value
				}
				if fields["_owner"] == uid {
					own = append(own, fields["text"].(string))
				}
			}
			if len(listed) != len(own) {
				t.Fatalf("round %d: %s sees %d notes after the migration, wrote %d", round, email, len(listed), len(own))
			}
			for i, n := range listed {
				if n["text"] != own[i] {
					t.Fatalf("round %d: note %d of %s is %v, want %q", round, i, email, n, own[i])
				}
			}
			for key, content := range backend.Files {
				owner, name, _ := strings.Cut(key, "/")
				if owner != email {
					continue
				}
				req, _ := http.NewRequest(http.MethodGet, p.url+"/files/"+uid+"/"+url.PathEscape(name), nil)
				req.Header.Set("X-API-Key", user.key)
				req.Header.Set("Authorization", "Bearer "+user.token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || string(got) != content {
					t.Fatalf("round %d: file %s of %s: %d %q, want %q", round, name, email, res.StatusCode, got, content)
				}
			}
		}
		for path, content := range backend.Site {
			got, err := os.ReadFile(filepath.Join(dataDir, "site", "current", path))
			if err != nil || string(got) != content {
				t.Fatalf("round %d: site file %s: %q, %v", round, path, got, err)
			}
		}
		p.stop()
	}
}
