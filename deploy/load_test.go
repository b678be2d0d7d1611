package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/platformtest"
)

// requestTimeout bounds every request of the load: a request that takes longer is a failure.
const requestTimeout = 10 * time.Second

// broadcastMargin is how long before a websocket connection ended a write must have been
// answered for its broadcast to be owed to that connection: the event travels through Redis to
// the replica holding the connection, which may close it meanwhile.
const broadcastMargin = time.Second

// load is continuous traffic through Traefik over HTTPS, as users make it: end users reading
// and writing one collection of a backend in cookie mode, their websockets (which reconnect by
// themselves, like the SDK's), visitors of the backend's site, and a developer in the panel
// with its live stream. It counts
// every request and keeps the details of every failure: a transport error, a timeout, or any
// status other than the one the request is expected to get.
type load struct {
	t          *testing.T
	p          *platformtest.Platform
	name       string
	collection string
	users      []*platformtest.EndUser
	ids        []string
	key        atomic.Value // the API key requests carry now

	stopping  atomic.Bool // the goroutines make no new request
	closing   atomic.Bool // the websockets and the stream are closed by the test
	ctx       context.Context
	cancel    context.CancelFunc
	requests  sync.WaitGroup // the goroutines sending requests
	listeners sync.WaitGroup // the websockets and the panel's stream
	seq       atomic.Int64

	mu       sync.Mutex
	sent     map[string]int // requests sent, by kind
	failures []string
	writes   []loadWrite
	clients  []*wsClient
	streams  []string // how each of the panel's event streams ended
}

// loadWrite is a document the load wrote: its sequence number, when the request left and when
// its answer came back.
type loadWrite struct {
	seq        int64
	sent, done time.Time
}

// wsClient is one end user's websocket, re-dialled whenever it closes, with a back-off, as the
// SDK does.
type wsClient struct {
	id       int
	user     *platformtest.EndUser
	sessions []*wsSession
}

// wsSession is one connection of a wsClient: when it was established and ended, and the
// broadcasts of the load's writes it received (by sequence number).
type wsSession struct {
	connected time.Time
	ended     time.Time
	end       string
	got       map[int64]bool
	// messages counts every message received; other is the first that was not a broadcast
	// of the load's writes, for the log.
	messages int
	other    string
}

// seededLoad creates the backend name and seeds a load of it (seedLoad). The load is not
// started.
func seededLoad(t *testing.T, p *platformtest.Platform, name string) *load {
	t.Helper()
	return seedLoad(t, p, p.Create(name))
}

// seedLoad gives a running backend what a load of it needs: a site, two signed-in end users
// (ann and bob, in cookie mode) and a collection, notes, with ten documents.
func seedLoad(t *testing.T, p *platformtest.Platform, b platformtest.Backend) *load {
	t.Helper()
	name := b.Name
	p.FirstAnswer(p.APIURL(name)+"/healthz", 2*time.Minute)
	p.MustStatus(http.StatusCreated, p.Raw(http.MethodPost, "/api/backends/"+name+"/site",
		bytes.NewReader(platformtest.SiteZip(t, map[string]string{"index.html": "<h1>" + name + "</h1>"})), "application/zip"))
	p.FirstAnswer(p.SiteURL(name)+"/", 2*time.Minute)

	var users []*platformtest.EndUser
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		u := p.EndUser(name, b.APIKey)
		u.SignUp(email, "password123")
		users = append(users, u)
	}
	users[0].MustStatus(http.StatusCreated, users[0].Send(http.MethodPost, "/collections", map[string]any{"name": "notes"}))
	var ids []string
	for i := range 10 {
		var doc struct {
			ID string `json:"_id"`
		}
		users[i%2].MustStatus(http.StatusCreated, users[i%2].Send(http.MethodPost, "/notes", map[string]any{"title": fmt.Sprintf("seed %d", i)})).Decode(&doc)
		ids = append(ids, doc.ID)
	}
	return newLoad(t, p, name, "notes", b.APIKey, users, ids)
}

func newLoad(t *testing.T, p *platformtest.Platform, name, collection, apiKey string, users []*platformtest.EndUser, ids []string) *load {
	l := &load{t: t, p: p, name: name, collection: collection, users: users, ids: ids, sent: map[string]int{}}
	l.key.Store(apiKey)
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// start runs readers, writers, websockets and the panel's requests until stop.
func (l *load) start(readers, writers, websockets int) {
	for i := range readers {
		l.loop(func() { l.read(l.users[i%len(l.users)], i) })
	}
	for i := range writers {
		l.loop(func() { l.write(l.users[i%len(l.users)]) })
	}
	l.loop(l.panel)
	site := l.p.Client(nil)
	l.loop(func() { l.site(site) })
	l.listeners.Add(1)
	go l.panelStream()
	for i := range websockets {
		c := &wsClient{id: i, user: l.users[i%len(l.users)]}
		l.mu.Lock()
		l.clients = append(l.clients, c)
		l.mu.Unlock()
		l.listeners.Add(1)
		go l.runWebsocket(c)
	}
}

// loop calls f, 20 ms apart, until the load stops.
func (l *load) loop(f func()) {
	l.requests.Add(1)
	go func() {
		defer l.requests.Done()
		for !l.stopping.Load() {
			f()
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

// stop ends the requests (those under way are answered first), waits until every open
// websocket has received the broadcasts of the writes (15 s at most), then closes the websockets
// and the stream.
func (l *load) stop() {
	l.stopping.Store(true)
	l.requests.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && len(l.missing(true)) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	l.closing.Store(true)
	l.cancel()
	l.listeners.Wait()
}

// counts returns how many requests were sent and how many failed so far.
func (l *load) counts() (requests, failures int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.sent {
		requests += n
	}
	return requests, len(l.failures)
}

func (l *load) fail(kind, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, fmt.Sprintf("%s %s: %s", time.Now().UTC().Format("15:04:05.000"), kind, fmt.Sprintf(format, args...)))
}

// do sends one request of the load and reads its answer; it counts the request, and a
// failure unless the answer has the status wanted.
func (l *load) do(kind string, c *http.Client, req *http.Request, want int) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	req = req.WithContext(ctx)
	l.mu.Lock()
	l.sent[kind]++
	l.mu.Unlock()
	resp, err := c.Do(req)
	if err != nil {
		l.fail(kind, "%s %s: %v", req.Method, req.URL.Path, err)
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		l.fail(kind, "%s %s: %d, reading the body: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		return nil, false
	case resp.StatusCode != want:
		l.fail(kind, "%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, snippet(body))
		return nil, false
	}
	return body, true
}

// userRequest is a request of an end user's browser: the current API key, the site's origin
// and the session cookie (the client's jar).
func (l *load) userRequest(u *platformtest.EndUser, method, path string, body any) *http.Request {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.p.APIURL(l.name)+path, r)
	if err != nil {
		panic(err)
	}
	req.Header.Set("X-API-Key", l.key.Load().(string))
	req.Header.Set("Origin", u.Origin())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// read gets one of the seeded documents, or every few rounds a page of the collection.
func (l *load) read(u *platformtest.EndUser, i int) {
	if rand.IntN(4) == 0 {
		l.do("list", u.HTTP, l.userRequest(u, http.MethodGet, "/"+l.collection+"?limit=10", nil), http.StatusOK)
		return
	}
	id := l.ids[(i+rand.IntN(len(l.ids)))%len(l.ids)]
	l.do("get", u.HTTP, l.userRequest(u, http.MethodGet, "/"+l.collection+"/"+id, nil), http.StatusOK)
}

// write creates a document numbered by the load's sequence and remembers when it was answered.
func (l *load) write(u *platformtest.EndUser) {
	seq := l.seq.Add(1)
	sent := time.Now()
	req := l.userRequest(u, http.MethodPost, "/"+l.collection, map[string]any{"title": fmt.Sprintf("load %d", seq), "seq": seq})
	if _, ok := l.do("post", u.HTTP, req, http.StatusCreated); ok {
		l.mu.Lock()
		l.writes = append(l.writes, loadWrite{seq: seq, sent: sent, done: time.Now()})
		l.mu.Unlock()
	}
}

// site gets the backend's site (served by its web service, nginx) as a browser would.
func (l *load) site(c *http.Client) {
	req, _ := http.NewRequest(http.MethodGet, l.p.SiteURL(l.name)+"/", nil)
	l.do("site", c, req, http.StatusOK)
}

// panel is the developer's panel polling its backends, as its pages do.
func (l *load) panel() {
	path := "/api/backends"
	if rand.IntN(2) == 0 {
		path += "/" + l.name
	}
	req, _ := http.NewRequest(http.MethodGet, l.p.Admin+path, nil)
	l.do("panel", l.p.HTTP, req, http.StatusOK)
}

// panelStream follows the panel's live list (GET /api/events, server-sent events) and, like a
// browser's EventSource, opens it again whenever it ends. Opening it is a request like any
// other; its end is not a failure (the control plane ends streams when it drains).
func (l *load) panelStream() {
	defer l.listeners.Done()
	c := *l.p.HTTP
	c.Timeout = 0
	for !l.stopping.Load() {
		req, _ := http.NewRequestWithContext(l.ctx, http.MethodGet, l.p.Admin+"/api/events", nil)
		l.mu.Lock()
		l.sent["panel-stream"]++
		l.mu.Unlock()
		resp, err := c.Do(req)
		if err != nil {
			if !l.closing.Load() {
				l.fail("panel-stream", "GET /api/events: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			l.fail("panel-stream", "GET /api/events: %d %s", resp.StatusCode, snippet(body))
			time.Sleep(500 * time.Millisecond)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		first := true
		for sc.Scan() {
			if first && !strings.HasPrefix(sc.Text(), "event: backends") {
				l.fail("panel-stream", "GET /api/events began with %q", sc.Text())
			}
			first = false
		}
		resp.Body.Close()
		if !l.closing.Load() {
			l.mu.Lock()
			l.streams = append(l.streams, fmt.Sprintf("%s %v", time.Now().UTC().Format("15:04:05.000"), sc.Err()))
			l.mu.Unlock()
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// runWebsocket keeps c's websocket open: dials, records every broadcast of the load's
// collection until the connection ends, and dials again after a back-off (100 ms doubling to
// 2 s, reset by a successful dial). A failed handshake counts as a failed request.
func (l *load) runWebsocket(c *wsClient) {
	defer l.listeners.Done()
	backoff := 100 * time.Millisecond
	for !l.closing.Load() {
		q := url.Values{"apiKey": {l.key.Load().(string)}}
		target := "wss://" + l.name + "-be." + l.p.Domain + "/ws?" + q.Encode()
		l.mu.Lock()
		l.sent["websocket"]++
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(l.ctx, requestTimeout)
		conn, resp, err := l.p.WebsocketDialer(c.user.Jar).DialContext(ctx, target, http.Header{"Origin": {c.user.Origin()}})
		cancel()
		if err != nil {
			if l.closing.Load() {
				return
			}
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			l.fail("websocket", "client %d: dial: %d %v", c.id, status, err)
			time.Sleep(backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		s := &wsSession{connected: time.Now(), got: map[int64]bool{}}
		l.mu.Lock()
		c.sessions = append(c.sessions, s)
		l.mu.Unlock()
		stop := context.AfterFunc(l.ctx, func() { _ = conn.Close() })
		var readErr error
		for {
			var m struct {
				Action     string `json:"action"`
				Collection string `json:"collection"`
				Response   struct {
					Seq int64 `json:"seq"`
				} `json:"response"`
			}
			var data []byte
			if _, data, readErr = conn.ReadMessage(); readErr != nil {
				break
			}
			err := json.Unmarshal(data, &m)
			l.mu.Lock()
			s.messages++
			if err == nil && m.Action == "create" && m.Collection == l.collection && m.Response.Seq > 0 {
				s.got[m.Response.Seq] = true
			} else if s.other == "" {
				s.other = snippet(data)
			}
			l.mu.Unlock()
		}
		stop()
		_ = conn.Close()
		l.mu.Lock()
		s.ended, s.end = time.Now(), readErr.Error()
		if l.closing.Load() {
			s.end = "closed by the test"
		}
		l.mu.Unlock()
	}
}

// missing lists the broadcasts a websocket connection did not receive although it owed them:
// of each write sent after the connection was established and answered at least
// broadcastMargin before it ended (any time, for a connection still open). openOnly looks at
// open connections only.
func (l *load) missing(openOnly bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.clients {
		for i, s := range c.sessions {
			if openOnly && !s.ended.IsZero() {
				continue
			}
			var lost []int64
			for _, w := range l.writes {
				owed := w.sent.After(s.connected) && (s.ended.IsZero() || s.end == "closed by the test" || w.done.Before(s.ended.Add(-broadcastMargin)))
				if owed && !s.got[w.seq] {
					lost = append(lost, w.seq)
				}
			}
			if len(lost) > 0 {
				sort.Slice(lost, func(a, b int) bool { return lost[a] < lost[b] })
				out = append(out, fmt.Sprintf("client %d connection %d (%s → %s, %s): %d broadcasts missed, e.g. %v",
					c.id, i+1, s.connected.UTC().Format("15:04:05.000"), s.ended.UTC().Format("15:04:05.000"), s.end, len(lost), lost[:min(len(lost), 10)]))
			}
		}
	}
	return out
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
