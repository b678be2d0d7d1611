package coreapi

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/gorilla/websocket"
)

// hub is this replica's set of websocket connections and the one place that decides which
// connection receives which event.
type hub struct {
	mu      sync.RWMutex
	conns   map[*wsConn]struct{}
	perUser map[string]int // open connections of each end user
	// closed refuses new connections once closeAll has run; open counts the connections
	// between add and remove, so closeAll can wait for their handlers to finish.
	closed bool
	open   sync.WaitGroup
}

func newHub() *hub { return &hub{conns: map[*wsConn]struct{}{}, perUser: map[string]int{}} }

// errHubClosed refuses a websocket that arrives while the replica closes.
var errHubClosed = httpapi.NewError(http.StatusServiceUnavailable, "shutting_down", "this replica is shutting down; connect again")

// add registers a connection. It refuses an end user's connection when they already have
// maxPerUser open here, so one account cannot multiply what it relays to everyone, and every
// connection once the hub is closed.
func (h *hub) add(c *wsConn, maxPerUser int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return errHubClosed
	}
	if uid := c.who.UserID; uid != "" {
		if h.perUser[uid] >= maxPerUser {
			return tooManyConnections(maxPerUser)
		}
		h.perUser[uid]++
	}
	h.conns[c] = struct{}{}
	h.open.Add(1)
	return nil
}

func (h *hub) remove(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	delete(h.conns, c)
	h.open.Done()
	if uid := c.who.UserID; uid != "" {
		if h.perUser[uid]--; h.perUser[uid] <= 0 {
			delete(h.perUser, uid)
		}
	}
}

func (h *hub) snapshot() []*wsConn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

// count is the number of open connections, for /admin/info.
func (h *hub) count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// deliver hands an event to every connection allowed to see it. It never blocks on a slow
// connection: enqueue drops a connection whose queue is full.
func (h *hub) deliver(ev core.Event) {
	var adminMsg []byte
	for _, c := range h.snapshot() {
		if c.who.Admin {
			if ev.Kind == core.KindSession {
				continue
			}
			if adminMsg == nil {
				adminMsg = adminMessage(ev)
			}
			c.enqueue(adminMsg)
			continue
		}
		switch ev.Kind {
		case core.KindSession:
			if (ev.Session != "" && c.who.Session == ev.Session) || (ev.Session == "" && ev.Owner != "" && c.who.UserID == ev.Owner) {
				c.closeWith(closeSessionEnded, "the session ended")
			}
		case core.KindDocument, core.KindRelay, core.KindChannel:
			if mayReach(ev, c) {
				c.enqueue(ev.Message)
			}
			if ev.Kind == core.KindChannel {
				c.unsubscribe(ev.Channel)
			}
		}
	}
}

// closeSessionEnded tells a client its session ended (logout, user deleted): reconnecting
// with the same credentials will not help. 4000–4999 are for applications.
const closeSessionEnded = 4001

// mayReach applies the contract's scoping: channel members only for channel documents,
// nothing public for broadcast: false, and the collection's rule for who may read.
func mayReach(ev core.Event, c *wsConn) bool {
	if !ev.Public {
		return false
	}
	if ev.Channel != "" && !c.subscribed(ev.Channel) {
		return false
	}
	switch ev.Rule {
	case core.RulePublicRead:
		return true
	case core.RuleOwner:
		return c.who.UserID != "" && c.who.UserID == ev.Owner
	default:
		return c.who.UserID != ""
	}
}

// adminMessage is the admin stream's form of an event: the client message plus its kind, so
// the admin panel can tell a user or collection change from a document change.
func adminMessage(ev core.Event) []byte {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ev.Message, &fields); err != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	fields["kind"], _ = json.Marshal(ev.Kind)
	fields["public"], _ = json.Marshal(ev.Public)
	if _, ok := fields["action"]; !ok {
		fields["action"], _ = json.Marshal(ev.Action)
	}
	b, _ := json.Marshal(fields)
	return b
}

// endAll closes every connection with code and reason, and still takes new ones: after a
// restore, every session ended.
func (h *hub) endAll(code int, reason string) {
	for _, c := range h.snapshot() {
		c.closeWith(code, reason)
	}
}

// closeAll ends every connection, for shutdown, and waits until their handlers are done, so
// each client has been sent its "going away" before the process exits.
func (h *hub) closeAll() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	for _, c := range h.snapshot() {
		c.closeWith(websocket.CloseGoingAway, "the server is shutting down")
	}
	h.open.Wait()
}
