package coreapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is a test websocket client: everything the server sends is collected, and calls
// wait for the reply with their requestId.
type wsClient struct {
	t        *testing.T
	conn     *websocket.Conn
	incoming chan map[string]any
	closed   chan websocket.CloseError
	nextID   atomic.Int64
	// backlog holds messages received but not yet matched: a broadcast may arrive before the
	// reply a call waits for, and a later expectation must still find it.
	backlog []map[string]any
}

const wsWait = 3 * time.Second

// dialWS opens /ws on server url as the given client (its API key, cookie or token).
func (c *client) dialWS() *wsClient {
	c.api.t.Helper()
	ws, res, err := c.tryDialWS(c.api.url, http.Header{})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		c.api.t.Fatalf("dial /ws: %v (status %d)", err, status)
	}
	return ws
}

func (c *client) tryDialWS(baseURL string, header http.Header) (*wsClient, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/ws?apiKey=" + c.apiKey
	if c.token != "" {
		u += "&token=" + c.token
	}
	for k, v := range c.header {
		header[k] = v
	}
	if c.http.Jar != nil {
		for _, ck := range c.http.Jar.Cookies(mustParse(baseURL)) {
			header.Add("Cookie", ck.Name+"="+ck.Value)
		}
	}
	conn, res, err := websocket.DefaultDialer.Dial(u, header)
	if err != nil {
		return nil, res, err
	}
	return newWSClient(c.api.t, conn), res, nil
}

func newWSClient(t *testing.T, conn *websocket.Conn) *wsClient {
	w := &wsClient{t: t, conn: conn, incoming: make(chan map[string]any, 1024), closed: make(chan websocket.CloseError, 1)}
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if e, ok := err.(*websocket.CloseError); ok {
					ce = e
				} else {
					ce = &websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: err.Error()}
				}
				w.closed <- *ce
				close(w.incoming)
				return
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				m = map[string]any{"unparseable": string(data)}
			}
			w.incoming <- m
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return w
}

func (w *wsClient) sendRaw(data string) {
	w.t.Helper()
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte(data)); err != nil {
		w.t.Fatalf("send: %v", err)
	}
}

// call sends an action with a fresh requestId and returns the reply to it, skipping broadcasts.
func (w *wsClient) call(action string, params map[string]any) map[string]any {
	w.t.Helper()
	id := fmt.Sprintf("r%d", w.nextID.Add(1))
	msg := map[string]any{"action": action, "requestId": id}
	for k, v := range params {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	w.sendRaw(string(b))
	return w.expect(func(m map[string]any) bool { return m["requestId"] == id })
}

// ok calls an action and fails the test unless it succeeded; it returns the response.
func (w *wsClient) ok(action string, params map[string]any) any {
	w.t.Helper()
	r := w.call(action, params)
	if r["action"] != action {
		w.t.Fatalf("%s failed: %v", action, r)
	}
	return r["response"]
}

// fails calls an action and checks it was answered with this error code.
func (w *wsClient) fails(action string, params map[string]any, code string) {
	w.t.Helper()
	r := w.call(action, params)
	e, _ := r["error"].(map[string]any)
	if r["action"] != "error" || e["code"] != code || e["message"] == "" {
		w.t.Fatalf("%s: got %v, want error %s", action, r, code)
	}
}

// expect returns the first message matching pred, from the backlog or as it arrives,
// failing the test after wsWait.
func (w *wsClient) expect(pred func(map[string]any) bool) map[string]any {
	w.t.Helper()
	if m, ok := w.takeFromBacklog(pred); ok {
		return m
	}
	deadline := time.After(wsWait)
	for {
		select {
		case m, ok := <-w.incoming:
			if !ok {
				w.t.Fatalf("connection closed while waiting: %v", <-w.closedErr())
			}
			if pred(m) {
				return m
			}
			w.backlog = append(w.backlog, m)
		case <-deadline:
			w.t.Fatalf("no matching message within %v; unmatched: %v", wsWait, w.backlog)
		}
	}
}

func (w *wsClient) takeFromBacklog(pred func(map[string]any) bool) (map[string]any, bool) {
	for i, m := range w.backlog {
		if pred(m) {
			w.backlog = append(w.backlog[:i], w.backlog[i+1:]...)
			return m, true
		}
	}
	return nil, false
}

func (w *wsClient) closedErr() chan websocket.CloseError {
	c := make(chan websocket.CloseError, 1)
	select {
	case e := <-w.closed:
		c <- e
	default:
		c <- websocket.CloseError{}
	}
	return c
}

// expectBroadcast waits for the broadcast of action on collection whose response has field=value.
func (w *wsClient) expectBroadcast(action, collection, field string, value any) map[string]any {
	w.t.Helper()
	return w.expect(func(m map[string]any) bool { return isBroadcast(m, action, collection, field, value) })
}

func isBroadcast(m map[string]any, action, collection, field string, value any) bool {
	r, _ := m["response"].(map[string]any)
	return m["requestId"] == nil && m["action"] == action && m["collection"] == collection && r != nil && r[field] == value
}

// expectNoBroadcast checks that nothing matching arrives within a short while. It is used after
// a positive expectation on another client, so the event has already been delivered.
func (w *wsClient) expectNoBroadcast(action, collection, field string, value any) {
	w.t.Helper()
	w.expectNothing("broadcast", func(m map[string]any) bool { return isBroadcast(m, action, collection, field, value) })
}

// expectNothing checks that no message matching pred arrives within a short while; what it
// sees meanwhile stays in the backlog for later expectations.
func (w *wsClient) expectNothing(what string, pred func(map[string]any) bool) {
	w.t.Helper()
	if m, ok := w.takeFromBacklog(pred); ok {
		w.t.Fatalf("unexpected %s: %v", what, m)
	}
	deadline := time.After(300 * time.Millisecond)
	for {
		select {
		case m, ok := <-w.incoming:
			if !ok {
				return
			}
			if pred(m) {
				w.t.Fatalf("unexpected %s: %v", what, m)
			}
			w.backlog = append(w.backlog, m)
		case <-deadline:
			return
		}
	}
}

// expectClose waits for the server to close the connection with code.
func (w *wsClient) expectClose(code int) {
	w.t.Helper()
	deadline := time.After(wsWait)
	for {
		select {
		case m, ok := <-w.incoming:
			if ok {
				w.backlog = append(w.backlog, m)
				continue
			}
			if e := <-w.closedErr(); e.Code != code {
				w.t.Fatalf("closed with %d %q, want %d", e.Code, e.Text, code)
			}
			return
		case <-deadline:
			w.t.Fatalf("not closed within %v (want code %d)", wsWait, code)
		}
	}
}
