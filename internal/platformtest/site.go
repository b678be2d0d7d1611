package platformtest

import (
	"archive/zip"
	"bytes"
	"testing"
)

// SiteZip is a site release: a zip of files (path → content), as POST /api/backends/NAME/site
// takes it.
func SiteZip(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
