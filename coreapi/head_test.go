package coreapi

import (
	"net/http"
	"testing"

	"github.com/backpackhq/backpack/internal/openapicheck"
)

// TestHeadWhereverGet walks every GET route of both ports, the SDK's included: HEAD answers
// with GET's status and content type, and no body.
func TestHeadWhereverGet(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "items"}))
	id := c.mustStatus(http.StatusCreated, c.post("/items", map[string]any{"a": 1})).doc()["_id"].(string)
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", formPart{field: "file", filename: "a.txt", contentType: "text/plain", data: []byte("hello")}))
	api.adminClient().deploy("hello", `function onRequest(req) { return {status: 200, headers: {"content-type": "text/plain"}, body: "hi " + req.method}; }`, nil)
	params := map[string]string{"collection": "items", "id": id, "userId": uid, "filename": "a.txt", "name": "hello"}

	openapicheck.HeadMatchesGet(t, c.http, api.url, api.srv.public.Routes(), params, http.Header{"X-Api-Key": {testAPIKey}})
	openapicheck.HeadMatchesGet(t, http.DefaultClient, api.admin, api.srv.admin.Routes(), params, http.Header{"Authorization": {"Bearer " + testAdminToken}})
}
