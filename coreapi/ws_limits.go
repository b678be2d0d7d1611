package coreapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/backpackhq/backpack/tools/httpapi"
)

// A relayed message reaches every connection its scope allows, so what one client relays is
// multiplied by the number of listeners. These limits keep that product small enough that one
// user cannot fill everyone's send queue and get them dropped as slow consumers.

// connectionsRetryAfter is the Retry-After of a refused handshake: by then a closing tab's
// connection is gone.
const connectionsRetryAfter = 10 * time.Second

// tooManyConnections refuses a handshake beyond Config.WSMaxConnectionsPerUser.
func tooManyConnections(max int) *httpapi.Error {
	return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "too_many_connections",
		Message:    fmt.Sprintf("this user already has %d open connections; close one first", max),
		Details:    map[string]any{"max": max},
		RetryAfter: connectionsRetryAfter}
}

// mayRelay applies the relay limits to a custom action: its size (Config.WSRelayMaxBytes)
// and this connection's relay rate (Config.WSRelaysPerSecond, WSRelayBurst). A refused relay
// is answered with an error; the connection stays open.
func (c *wsConn) mayRelay(req wsRequest) error {
	if max := c.s.cfg.WSRelayMaxBytes; int64(len(req.raw)) > max {
		return &httpapi.Error{Status: http.StatusRequestEntityTooLarge, Code: "message_too_large",
			Message: fmt.Sprintf("a relayed message may be at most %d bytes", max), Details: map[string]any{"max": max}}
	}
	if !c.relays.Allow() {
		return &httpapi.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: fmt.Sprintf("too many relayed messages: at most %g a second, %d at once", c.s.cfg.WSRelaysPerSecond, c.s.cfg.WSRelayBurst),
			Details: map[string]any{"perSecond": c.s.cfg.WSRelaysPerSecond, "burst": c.s.cfg.WSRelayBurst}}
	}
	return nil
}
