// Package sdk embeds the JavaScript SDK so every Backpack binary can serve it: a site loads
// the SDK from its own backend and always gets the version that backend speaks.
package sdk

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

//go:embed sdk.js
var source []byte

//go:embed sdk.d.ts
var declarations []byte

// exportLine ends sdk.js; the classic script is the same source without it, wrapped so its
// names stay private except the two globals it exists to provide.
const exportLine = "export { createSdk, BackpackError, reconnectDelay, createConnection, siteOf, chooseAuthMode };\n"

// asset is one served file with its validator.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// Files are the SDK's URLs and what they serve.
var Files = map[string]asset{}

func init() {
	if !bytes.HasSuffix(source, []byte(exportLine)) {
		panic("web/sdk: sdk.js must end with the line: " + strings.TrimSpace(exportLine))
	}
	body := bytes.TrimSuffix(source, []byte(exportLine))
	classic := append([]byte("(() => {\n'use strict';\n"), body...)
	classic = append(classic, []byte("globalThis.createSdk = createSdk;\nglobalThis.BackpackError = BackpackError;\n})();\n")...)
	Files["/sdk.js"] = newAsset(classic, "text/javascript; charset=utf-8")
	Files["/sdk.mjs"] = newAsset(source, "text/javascript; charset=utf-8")
	Files["/sdk.d.ts"] = newAsset(declarations, "application/typescript; charset=utf-8")
}

// Handler serves the SDK files: anyone may load them (no API key: a <script> tag cannot send
// one), from any origin, revalidated by ETag so a backend upgrade reaches browsers quickly.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := Files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "public, max-age=300, must-revalidate")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
