package coreapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/httpapi"
)

// TestStrictJSONBodies: the backend API's struct bodies (sign-up, sign-in, settings…) refuse
// duplicate keys like its documents do, and explain a wrong shape without Go type names.
func TestStrictJSONBodies(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	for _, body := range []string{
		`{"email":"a@example.com","email":"b@example.com","password":"password123"}`,
		`{"email":"a@example.com","Email":"b@example.com","password":"password123"}`,
	} {
		c.expectError(c.post("/auth/register", body), http.StatusBadRequest, "invalid_json")
		c.expectError(c.post("/auth/login", body), http.StatusBadRequest, "invalid_json")
	}
	c.expectError(c.post("/auth/login", map[string]string{"email": "b@example.com", "password": "password123"}), http.StatusUnauthorized, "invalid_credentials")

	for body, want := range map[string]string{
		`[]`:                         "the body must be a JSON object",
		`"x"`:                        "the body must be a JSON object",
		`null`:                       "the body must be a JSON object",
		`{"email":1,"password":"x"}`: `field "email" must be a string`,
	} {
		r := c.post("/auth/register", body)
		c.expectError(r, http.StatusBadRequest, "invalid_json")
		var e httpapi.ErrorBody
		r.decode(&e)
		if !strings.Contains(e.Error.Message, want) || strings.Contains(e.Error.Message, "coreapi.") {
			t.Errorf("register %s: message %q; want %q and no Go type", body, e.Error.Message, want)
		}
	}
	adm := api.adminClient()
	patch := func(body string) *response {
		return adm.raw(http.MethodPatch, "/admin/settings", strings.NewReader(body), "application/json")
	}
	adm.expectError(patch(`{"corsOrigins":["https://a.example.com"],"corsOrigins":[]}`), http.StatusBadRequest, "invalid_json")
	r := patch(`{"corsOrigins":"https://a.example.com"}`)
	adm.expectError(r, http.StatusBadRequest, "invalid_json")
	if strings.Contains(string(r.body), "[]string") {
		t.Errorf("settings: %s", r.body)
	}
}

// TestPasswordContentAndEmailNFKC: sign-up refuses passwords of white space or with a NUL, and
// the full-width form of an address is the same account as its plain form.
func TestPasswordContentAndEmailNFKC(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	for _, pw := range []string{strings.Repeat(" ", 10), strings.Repeat("\t\u3000", 5), strings.Repeat("\x00", 10), "password123\x00"} {
		c.expectError(c.post("/auth/register", map[string]string{"email": "pw@example.com", "password": pw}), http.StatusBadRequest, "invalid_password")
	}
	r := c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "password": "password123"}))
	if u := r.doc(); u["email"] != "ann@example.com" {
		t.Fatalf("registered %v", u)
	}
	c.expectError(c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}), http.StatusConflict, "email_taken")
	c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "ＡＮＮ@example.com", "password": "password123"}))
}
