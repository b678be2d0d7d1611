package coreapi

import (
	"net/http"
	"testing"
)

// TestHostSessionCookieOnWebsocketThroughTraefik: Traefik forwards a websocket handshake that
// came over TLS with X-Forwarded-Proto: wss. The browser sends the __Host- session cookie with
// it, which must sign the connection in as for any https request: the broadcast of a
// collection only signed-in users may read reaches it.
func TestHostSessionCookieOnWebsocketThroughTraefik(t *testing.T) {
	api := newTestAPI(t)
	c := api.client()
	c.header.Set("X-Forwarded-Proto", "https")
	c.mustStatus(http.StatusCreated, c.post("/auth/register", map[string]string{"email": "ann@example.com", "password": "password123"}))
	r := c.mustStatus(http.StatusOK, c.post("/auth/login", map[string]string{"email": "ann@example.com", "password": "password123"}))
	ck := sessionCookiesIn(r)["__Host-bkpk_session"]
	if ck == nil {
		t.Fatalf("no __Host- session cookie over https: %q", r.header.Values("Set-Cookie"))
	}
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "notes"}))

	ws := api.client()
	ws.header.Set("X-Forwarded-Proto", "wss")
	ws.header.Set("Cookie", "__Host-bkpk_session="+ck.Value)
	conn := ws.dialWS()
	c.mustStatus(http.StatusCreated, c.post("/notes", map[string]any{"title": "seen"}))
	conn.expectBroadcast("create", "notes", "title", "seen")
}
