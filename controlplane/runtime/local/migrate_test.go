package local

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/docstore/ferretimport"
	"github.com/backpackhq/backpack/tools/docstore/ferretimport/ferretfixture"
)

// TestMigratesThePreviousVersionsData starts the runtime on a data directory that the
// previous `backpack dev` wrote (every backend in one embedded FerretDB) and runs its
// backends: end users sign in with their old passwords and download their files byte for
// byte, sites are still served, each backend has its own database file, and FerretDB's
// directory is kept aside.
func TestMigratesThePreviousVersionsData(t *testing.T) {
	dataDir := ferretfixture.Copy(t, ferretfixture.Dev)
	want := ferretfixture.Load(t, ferretfixture.Dev)
	r := newTestRuntime(t, dataDir)
	if _, err := os.Stat(filepath.Join(dataDir, ferretimport.OldDirName+ferretimport.AsideSuffix)); err != nil {
		t.Fatalf("the old FerretDB directory was not kept aside: %v", err)
	}
	for name, backend := range want.Backends {
		if _, err := os.Stat(filepath.Join(r.backendDir(name), ferretimport.StoreFile)); err != nil {
			t.Fatalf("%s has no database file of its own: %v", name, err)
		}
		mustApply(t, r, testSpec(name, backend.APIKey))
		for email, password := range backend.Passwords {
			res := public(t, r, name, backend.APIKey, http.MethodPost, "/auth/token", map[string]string{"email": email, "password": password})
			wantStatus(t, name+": sign in as "+email+" with the old password", res, http.StatusOK)
			var tok struct {
				Token string `json:"token"`
			}
			res.json(t, &tok)
			var me struct {
				ID string `json:"_id"`
			}
			publicAs(t, r, name, backend.APIKey, tok.Token, http.MethodGet, "/auth/me", nil).json(t, &me)
			for key, content := range backend.Files {
				owner, file, _ := strings.Cut(key, "/")
				if owner != email {
					continue
				}
				got := publicAs(t, r, name, backend.APIKey, tok.Token, http.MethodGet, "/files/"+me.ID+"/"+url.PathEscape(file), nil)
				if got.status != http.StatusOK || got.body != content {
					t.Fatalf("%s: file %s of %s: %d %q, want %q", name, file, email, got.status, got.body, content)
				}
			}
		}
		for path, content := range backend.Site {
			if got := site(t, r, name, http.MethodGet, "/"+path, nil); got.status != http.StatusOK || got.body != content {
				t.Fatalf("%s: site /%s: %d %q, want %q", name, path, got.status, got.body, content)
			}
		}
	}
}
