package coreapi

import (
	"net/http"
	"testing"

	"github.com/backpackhq/backpack/internal/badinput"
)

// sweepAPI starts an API with small body limits holding a signed-in user, a collection with a
// document and a file, and returns it with that user's client and the real values of the
// routes' path parameters.
func sweepAPI(t *testing.T) (*testAPI, *client, map[string]string) {
	t.Helper()
	api := newTestAPI(t, func(c *Config) { c.MaxBodyBytes = 4 << 10; c.MaxUploadBytes = 8 << 10 })
	c, userID := api.signedIn()
	c.mustStatus(http.StatusCreated, api.adminClient().post("/admin/collections", map[string]string{"name": "notes"}))
	d := c.mustStatus(http.StatusCreated, c.post("/notes", map[string]string{"title": "hello"})).doc()
	c.mustStatus(http.StatusCreated, c.upload(http.MethodPost, "/files", formPart{field: "file", filename: "a.txt", data: []byte("hi")}))
	api.adminClient().mustStatus(http.StatusCreated, api.adminClient().post("/admin/collections/notes/indexes", map[string]any{"fields": []string{"title"}}))
	api.adminClient().deploy("echo", `function onRequest(req) { return {method: req.method, body: typeof req.body}; }`, nil)
	return api, c, map[string]string{"collection": "notes", "id": d["_id"].(string), "userId": userID, "filename": "a.txt", "index": "title_1", "name": "echo", "*": "sub/path"}
}

// TestPublicPortBadInput sends every route of the public port, as a signed-in user, the bad
// inputs of internal/badinput: no answer is a 5xx or a 4xx outside the contract's error shape.
func TestPublicPortBadInput(t *testing.T) {
	api, c, valid := sweepAPI(t)
	header := http.Header{"X-Api-Key": {testAPIKey}}
	for _, ck := range c.http.Jar.Cookies(mustParse(api.url)) {
		header.Add("Cookie", ck.String())
	}
	badinput.Sweep(t, badinput.Target{Base: api.url, Header: header, Router: api.srv.public,
		Limit: api.cfg.MaxBodyBytes, Valid: valid})
}

// TestAdminPortBadInput does the same on every route of the admin port, with the admin token.
func TestAdminPortBadInput(t *testing.T) {
	api, _, valid := sweepAPI(t)
	badinput.Sweep(t, badinput.Target{Base: api.admin, Header: http.Header{"Authorization": {"Bearer " + testAdminToken}},
		Router: api.srv.admin, Limit: api.cfg.MaxBodyBytes, Valid: valid})
}
