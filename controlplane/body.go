package controlplane

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/labstack/echo/v4"
)

// maxJSONBody caps every JSON request body: the control plane's requests are small.
const maxJSONBody = 64 << 10

// decode reads a small, strict JSON body (see httpapi.DecodeJSON).
func decode(c echo.Context, v any) error {
	req := c.Request()
	if req.ContentLength > maxJSONBody {
		return &http.MaxBytesError{Limit: maxJSONBody}
	}
	req.Body = http.MaxBytesReader(c.Response(), req.Body, maxJSONBody)
	return httpapi.DecodeJSON(c, v)
}

// newID is a random identifier for rows the control plane creates.
func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
