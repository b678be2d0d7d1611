package controlplane

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"

	"github.com/backpackhq/backpack/tools/httpapi"
)

// maxProxiedSettingsBytes bounds a settings body the proxy reads to look for rotateApiKey; the
// backend's own limit on JSON bodies is the same by default.
const maxProxiedSettingsBytes = 1 << 20

// refuseKeyRotation stops the admin proxy from rotating a backend's API key. The control plane
// is the source of truth for keys: it shows the stored key and hands it to the runtime on every
// apply, so a key rotated behind its back would show a dead key on the panel and be reverted by
// the next redeploy. POST /api/backends/NAME/api-key rotates and stores the new key in one step.
//
// rest is the unescaped path after /admin. Any state-changing request to the settings (however
// the path is spelled) whose body sets rotateApiKey is refused; the body is read with the same
// decoder the backend uses, without its stricter checks, so whatever the backend would take as
// a rotation is seen as one here. The body is put back for the backend.
func refuseKeyRotation(req *http.Request, name, rest string) error {
	if safeMethod(req.Method) || path.Clean("/"+rest) != "/settings" || req.Body == nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxProxiedSettingsBytes+1))
	if err != nil {
		return fmt.Errorf("read settings body for %s: %w", name, err)
	}
	if len(body) > maxProxiedSettingsBytes {
		return &http.MaxBytesError{Limit: maxProxiedSettingsBytes}
	}
	var patch struct {
		RotateAPIKey bool `json:"rotateApiKey"`
	}
	// A body that does not decode is left for the backend, which refuses it too.
	if json.Unmarshal(body, &patch) == nil && patch.RotateAPIKey {
		return &httpapi.Error{Status: http.StatusForbidden, Code: "rotate_key_through_control_plane",
			Message: "rotate the API key with POST /api/backends/" + name + "/api-key, so the control plane keeps the new key; the admin proxy does not rotate it",
			Details: map[string]any{"field": "rotateApiKey"}}
	}
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return nil
}
