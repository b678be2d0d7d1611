package controlplane

import (
	"net/http"
	"strings"
	"testing"
)

// TestStrictJSONDuplicateKeys: a body that names a key twice is refused, so
// {"email":"a…","email":"b…"} cannot sign anyone up or in as either address.
func TestStrictJSONDuplicateKeys(t *testing.T) {
	p := newTestPlane(t)
	op := p.developer()
	anon := p.anonymous()
	for _, body := range []string{
		`{"email":"a@example.com","email":"b@example.com","password":"a long password"}`,
		`{"email":"a@example.com","EMAIL":"b@example.com","password":"a long password"}`,
		`{"email":"a@example.com","password":"a long password","password":"another password"}`,
	} {
		e := wantError(anon.raw(http.MethodPost, "/api/auth/register", strings.NewReader(body), "application/json"), http.StatusBadRequest, "invalid_json")
		if !strings.Contains(e.Message, "more than once") && !strings.Contains(e.Message, "duplicate key") {
			t.Errorf("register %s: message %q does not name the duplicate", body, e.Message)
		}
	}
	login := `{"email":"` + op.email + `","email":"b@example.com","password":"a long password"}`
	wantError(anon.raw(http.MethodPost, "/api/auth/login", strings.NewReader(login), "application/json"), http.StatusBadRequest, "invalid_json")
	if devs := op.developers(); len(devs) != 1 {
		t.Fatalf("developers after refused bodies: %+v", devs)
	}
	anon.get("/api/auth/me").expectError(http.StatusUnauthorized, "not_signed_in")
}

// TestStrictJSONMessagesInWords: a body of the wrong shape is explained in JSON's words, never
// with the name of a Go type.
func TestStrictJSONMessagesInWords(t *testing.T) {
	p := newTestPlane(t)
	d := p.developer()
	anon := p.anonymous()
	for _, c := range []struct {
		d          *dev
		path, body string
		want       string
	}{
		{anon, "/api/auth/register", `[]`, "the body must be a JSON object"},
		{anon, "/api/auth/register", `"ann@example.com"`, "the body must be a JSON object"},
		{anon, "/api/auth/register", `null`, "the body must be a JSON object"},
		{anon, "/api/auth/login", `{"email":["a"],"password":"a long password"}`, `field "email" must be a string`},
		{d, "/api/backends", `{"name":{}}`, `field "name" must be a string`},
		{d, "/api/backends", `7`, "the body must be a JSON object"},
	} {
		e := wantError(c.d.raw(http.MethodPost, c.path, strings.NewReader(c.body), "application/json"), http.StatusBadRequest, "invalid_json")
		if !strings.Contains(e.Message, c.want) || strings.Contains(e.Message, "controlplane.") || strings.Contains(e.Message, "Body") {
			t.Errorf("POST %s %s: message %q; want %q and no Go type", c.path, c.body, e.Message, c.want)
		}
	}
}

// TestPasswordContentAtSignUp: a password of white space only, or with a NUL in it, is refused
// at sign-up with a message saying why.
func TestPasswordContentAtSignUp(t *testing.T) {
	p := newTestPlane(t)
	anon := p.anonymous()
	for pw, want := range map[string]string{
		strings.Repeat(" ", 10):          "white space",
		strings.Repeat("\u3000\t", 5):    "white space",
		strings.Repeat("\x00", 10):       "NUL",
		"a long password\x00and more":    "NUL",
		"\x00" + strings.Repeat("p", 10): "NUL",
	} {
		e := wantError(registerAs(anon, "pw@example.com", pw, nil), http.StatusBadRequest, "invalid_password")
		if e.Details["field"] != "password" || !strings.Contains(e.Message, want) {
			t.Errorf("password %q: %+v", pw, e)
		}
	}
	anon.mustStatus(http.StatusCreated, registerAs(anon, "pw@example.com", "  spaced  out  ", nil))
}

// TestEmailNFKC: the full-width or other compatibility form of an address is the same account
// as its plain form, at sign-up and at sign-in.
func TestEmailNFKC(t *testing.T) {
	p := newTestPlane(t)
	p.developer() // the operator
	a := p.anonymous()
	r := a.mustStatus(http.StatusCreated, registerAs(a, "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "a long password", nil))
	var me struct{ Developer developerJSON }
	r.decode(&me)
	if me.Developer.Email != "ann@example.com" {
		t.Fatalf("registered as %s", r.body)
	}
	b := p.anonymous()
	wantError(registerAs(b, "ann@example.com", "a long password", nil), http.StatusConflict, "email_taken")
	wantError(registerAs(b, "ＡＮＮ@example.com", "a long password", nil), http.StatusConflict, "email_taken")
	b.mustStatus(http.StatusOK, b.post("/api/auth/login", map[string]any{"email": "ann@ｅｘａｍｐｌｅ.com", "password": "a long password"}))
}
