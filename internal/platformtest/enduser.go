package platformtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/internal/swarmtest"
	"github.com/gorilla/websocket"
)

// EndUser is a user of one backend's API, as its site's scripts are. Through Traefik it is a
// browser's session: requests to https://NAME-be.DOMAIN from the origin https://NAME.DOMAIN,
// signed in by cookie (the production default). Without Traefik it talks to the api service
// over backpack_public, as Traefik forwards to it, with a bearer token (the task's name is not a
// host a browser keeps cookies for).
type EndUser struct {
	T      testing.TB
	P      *Platform
	Name   string
	APIKey string
	HTTP   *http.Client
	Jar    http.CookieJar
	// Token is the bearer token of a token-mode login (without Traefik).
	Token string
}

// EndUser returns a new, signed-out user of the backend name.
func (p *Platform) EndUser(name, apiKey string) *EndUser {
	jar, _ := cookiejar.New(nil)
	u := &EndUser{T: p.T, P: p, Name: name, APIKey: apiKey, Jar: jar}
	if p.Opts.Traefik {
		u.HTTP = p.Client(jar)
	} else {
		u.HTTP = p.Probe().HTTPClient()
	}
	return u
}

// Probe is a netprobe on backpack_public, started on first use: the way to a backend's tasks
// without Traefik.
func (p *Platform) Probe() *swarmtest.Probe {
	if p.probe == nil {
		p.probe = swarmtest.StartProbe(p.T, p.Cli, swarm.PublicNetwork)
	}
	return p.probe
}

// URL is the full URL of path on the user's backend API.
func (u *EndUser) URL(path string) string {
	if u.P.Opts.Traefik {
		return u.P.APIURL(u.Name) + path
	}
	return "http://" + u.Name + "_api:3000" + path
}

// Origin is the origin the user's requests come from: the backend's site.
func (u *EndUser) Origin() string { return u.P.SiteURL(u.Name) }

// Request builds a request to the user's backend with its API key, origin and credentials.
func (u *EndUser) Request(method, path string, body io.Reader) *http.Request {
	u.T.Helper()
	req, err := http.NewRequest(method, u.URL(path), body)
	if err != nil {
		u.T.Fatal(err)
	}
	if !u.P.Opts.Traefik {
		req.Host = u.Name + "-be." + u.P.Domain
	}
	req.Header.Set("X-API-Key", u.APIKey)
	req.Header.Set("Origin", u.Origin())
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	return req
}

// Send sends body as JSON (none if nil) and reads the answer.
func (u *EndUser) Send(method, path string, body any) Answer {
	u.T.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := u.Request(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return Do(u.T, u.HTTP, req)
}

// MustStatus fails the test unless a has the status.
func (u *EndUser) MustStatus(status int, a Answer) Answer {
	u.T.Helper()
	if a.Status != status {
		u.T.Fatalf("end user of %s: got %d %s, want %d", u.Name, a.Status, a.Body, status)
	}
	return a
}

// SignUp registers the user on the backend and signs them in, as a new end user does.
func (u *EndUser) SignUp(email, password string) {
	u.T.Helper()
	u.MustStatus(http.StatusCreated, u.Send(http.MethodPost, "/auth/register", map[string]any{"email": email, "password": password}))
	u.Login(email, password)
}

// Login signs the user in: by cookie through Traefik, else with a bearer token.
func (u *EndUser) Login(email, password string) {
	u.T.Helper()
	creds := map[string]string{"email": email, "password": password}
	if u.P.Opts.Traefik {
		u.MustStatus(http.StatusOK, u.Send(http.MethodPost, "/auth/login", creds))
		return
	}
	var out struct {
		Token string `json:"token"`
	}
	u.MustStatus(http.StatusOK, u.Send(http.MethodPost, "/auth/token", creds)).Decode(&out)
	if out.Token == "" {
		u.T.Fatal("no token from /auth/token")
	}
	u.Token = out.Token
}

// Websocket opens the user's realtime connection (/ws), with its cookies or token.
func (u *EndUser) Websocket() (*websocket.Conn, error) {
	q := url.Values{"apiKey": {u.APIKey}}
	if u.Token != "" {
		q.Set("token", u.Token)
	}
	header := http.Header{"Origin": {u.Origin()}}
	var dialer *websocket.Dialer
	target := u.URL("/ws?" + q.Encode())
	if u.P.Opts.Traefik {
		dialer = u.P.WebsocketDialer(u.Jar)
		target = "ws" + target[len("http"):]
	} else {
		dialer = u.P.Probe().WebsocketDialer()
		header.Set("Host", u.Name+"-be."+u.P.Domain)
		target = "ws" + target[len("http"):]
	}
	conn, _, err := dialer.Dial(target, header)
	return conn, err
}
