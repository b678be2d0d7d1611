package coreapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/httpserve"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// writeTimeout bounds one write to a client; a client that takes longer is gone.
const writeTimeout = 10 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// The Origin is checked by handleWS before upgrading, against the backend's CORS origins,
	// so the refusal can be a proper JSON error.
	CheckOrigin: func(*http.Request) bool { return true },
}

// handleWS upgrades GET /ws (public, the caller's session applies) and GET /admin/ws (admin
// token, no rules) to a websocket and serves it until it closes.
func (s *Server) handleWS(c echo.Context) error {
	who := callerOf(c)
	if origin := c.Request().Header.Get("Origin"); !who.Admin && origin != "" && !s.data.Settings().OriginAllowed(origin) {
		return httpapi.NewError(http.StatusForbidden, "origin_not_allowed", "this origin may not open a websocket to this backend")
	}
	if !websocket.IsWebSocketUpgrade(c.Request()) {
		return httpapi.BadRequest("websocket_required", "this endpoint speaks the websocket protocol")
	}
	// The connection joins the hub before the handshake completes, so an event published the
	// moment the client sees itself connected waits in its queue rather than being missed.
	conn := newWSConn(s, nil, who)
	if err := s.hub.add(conn, s.cfg.WSMaxConnectionsPerUser); err != nil {
		return err
	}
	defer s.hub.remove(conn)
	ws, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		conn.closeWith(websocket.CloseAbnormalClosure, "")
		return nil // the upgrader has answered the client
	}
	testHookUpgraded(conn)
	if !conn.attach(ws) {
		return nil // closed while the handshake was under way: attach told the client why
	}
	if !s.sessionStillValid(c.Request().Context(), conn) {
		return nil
	}
	// The connection lives until the replica closes, or until the server that accepted it
	// ends its drain: then it is told "going away" and its client reconnects elsewhere.
	ctx, cancel := context.WithCancel(s.lifetime)
	defer cancel()
	stop := context.AfterFunc(httpserve.GoingAway(c.Request().Context()), cancel)
	defer stop()
	conn.serve(ctx)
	return nil
}

// sessionStillValid asks again, once the connection is in the hub, whether its session still
// resolves to its user, and closes it if not. The session was resolved before the connection
// joined the hub, so a logout or a user's deletion in between would otherwise be missed: its
// event closes only the connections already there. Those end the session (and forget the
// user) before their event is sent, so asking after joining cannot miss both.
func (s *Server) sessionStillValid(ctx context.Context, conn *wsConn) bool {
	if conn.who.Admin || conn.who.Session == "" {
		return true
	}
	uid, err := s.sessionOwner(ctx, conn.who.Session)
	switch {
	case err != nil:
		s.log.Error("websocket session check failed", "err", err)
		conn.closeWith(websocket.CloseInternalServerErr, "the session could not be checked")
		return false
	case uid != conn.who.UserID:
		conn.closeWith(closeSessionEnded, "the session ended")
		return false
	}
	return true
}

// wsConn is one websocket client. Everything it is sent goes through its bounded queue and a
// single writer goroutine; a client that does not keep up is disconnected rather than
// allowed to hold up the events other clients are waiting for.
type wsConn struct {
	s       *Server
	ws      *websocket.Conn
	who     core.Caller
	send    chan []byte
	limiter *rate.Limiter
	// relays bounds the custom actions this connection sends on to others (mayRelay).
	relays *rate.Limiter
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex // guards ws while it is attached, closing, and channels
	channels map[string]struct{}
	// closing is the close frame of a connection closed before its socket was attached (nil
	// for an abnormal closure): attach sends it, since the client has seen its handshake
	// succeed and must learn why it is closed.
	closing []byte
}

// testHookUpgraded runs between the handshake and attach; tests use it to close a connection
// at that moment.
var testHookUpgraded = func(*wsConn) {}

func newWSConn(s *Server, ws *websocket.Conn, who core.Caller) *wsConn {
	return &wsConn{
		s: s, ws: ws, who: who,
		send:     make(chan []byte, s.cfg.WSSendQueue),
		limiter:  rate.NewLimiter(rate.Limit(s.cfg.WSMessagesPerSecond), s.cfg.WSMessageBurst),
		relays:   rate.NewLimiter(rate.Limit(s.cfg.WSRelaysPerSecond), s.cfg.WSRelayBurst),
		done:     make(chan struct{}),
		channels: map[string]struct{}{},
	}
}

// serve runs the connection until the client leaves, misbehaves or the server stops.
func (c *wsConn) serve(ctx context.Context) {
	go c.writeLoop()
	stop := context.AfterFunc(ctx, func() { c.closeWith(websocket.CloseGoingAway, "the server is shutting down") })
	defer stop()
	c.readLoop(ctx)
	c.closeWith(websocket.CloseNormalClosure, "")
}

func (c *wsConn) readLoop(ctx context.Context) {
	c.ws.SetReadLimit(c.s.cfg.WSReadLimit)
	readTimeout := c.s.cfg.WSIdleTimeout
	_ = c.ws.SetReadDeadline(time.Now().Add(readTimeout))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(readTimeout)) })
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseMessageTooBig) || err == websocket.ErrReadLimit {
				c.closeWith(websocket.CloseMessageTooBig, "message too large")
			}
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(readTimeout))
		if !c.limiter.Allow() {
			c.closeWith(websocket.ClosePolicyViolation, "too many messages")
			return
		}
		if kind != websocket.TextMessage {
			c.replyError(nil, httpapi.BadRequest("invalid_message", "send messages as JSON text frames"))
			continue
		}
		c.handle(ctx, data)
	}
}

func (c *wsConn) writeLoop() {
	ping := time.NewTicker(c.s.cfg.WSPingInterval)
	defer ping.Stop()
	for {
		select {
		case msg := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.closeWith(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				c.closeWith(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-c.done:
			return
		}
	}
}

// enqueue queues a message without ever blocking; a full queue means the client is not
// reading, and it is disconnected.
func (c *wsConn) enqueue(msg []byte) {
	select {
	case <-c.done:
	case c.send <- msg:
	default:
		c.s.metrics.wsDropped.Inc()
		c.closeWith(websocket.CloseTryAgainLater, "too slow: messages were not read in time")
	}
}

// attach gives the connection its socket once the handshake is done. It reports false if the
// connection was closed in the meantime, and then closes the socket with the frame closeWith
// meant to send: the client already holds an open websocket (its Dial returned as soon as
// the handshake's answer was written), so closing it without the frame would reach it as
// 1006, not as the reason (a session that ended, a replica going away).
func (c *wsConn) attach(ws *websocket.Conn) bool {
	c.mu.Lock()
	select {
	case <-c.done:
		frame := c.closing
		c.mu.Unlock()
		sendClose(ws, frame)
		return false
	default:
	}
	c.ws = ws
	c.mu.Unlock()
	return true
}

// closeWith ends the connection once, with a close frame saying why. It returns at once: the
// frame may have to wait for a stalled writer, and the hub's delivery loop, which calls this
// for slow clients, must never wait for one. A connection not yet attached keeps the frame
// for attach to send.
func (c *wsConn) closeWith(code int, reason string) {
	c.once.Do(func() {
		var frame []byte
		if code != websocket.CloseAbnormalClosure {
			frame = websocket.FormatCloseMessage(code, reason)
		}
		c.mu.Lock()
		close(c.done)
		ws := c.ws
		if ws == nil {
			c.closing = frame
		}
		c.mu.Unlock()
		if ws != nil {
			go sendClose(ws, frame)
		}
	})
}

// sendClose writes the close frame, if any, and closes the socket.
func sendClose(ws *websocket.Conn, frame []byte) {
	if frame != nil {
		_ = ws.WriteControl(websocket.CloseMessage, frame, time.Now().Add(time.Second))
	}
	_ = ws.Close()
}

func (c *wsConn) subscribe(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.channels[key] = struct{}{}
}

func (c *wsConn) unsubscribe(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.channels, key)
}

func (c *wsConn) subscribed(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.channels[key]
	return ok
}
