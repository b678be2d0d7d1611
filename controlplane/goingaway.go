package controlplane

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/backpackhq/backpack/tools/httpserve"
	"github.com/labstack/echo/v4"
)

// untilGoingAway makes cancel run also when the listener that received c ends its drain
// (httpserve.GoingAway): a long-lived answer (an event stream, followed logs) then ends, and
// its client reconnects to another replica. Short answers are not bound to it: they finish
// within the shutdown's grace. Call the returned stop when the answer is done.
func untilGoingAway(c echo.Context, cancel context.CancelFunc) (stop func() bool) {
	return context.AfterFunc(httpserve.GoingAway(c.Request().Context()), cancel)
}

// closeGoingAway is the close frame a proxied websocket's client gets when the control plane
// goes away: 1001, so the panel reconnects (to another replica) as it would for the backend's.
var closeGoingAway = func() []byte {
	reason := "the control plane is restarting; connect again"
	frame := []byte{0x88, byte(2 + len(reason)), 0, 0}
	binary.BigEndian.PutUint16(frame[2:], 1001)
	return append(frame, reason...)
}()

// errWentAway ends the copy of the backend's frames once the client was told to go.
var errWentAway = errors.New("the websocket's client was told to go away")

// goingAwayWriter is the ResponseWriter of a proxied websocket. The reverse proxy copies the
// backend's frames to the client as raw bytes; the connection it hijacks through this writer
// knows where each frame ends, so that goAway can put a close frame of the control plane's
// own between two of them instead of cutting the stream mid-frame.
type goingAwayWriter struct {
	http.ResponseWriter
	mu   sync.Mutex
	conn *frameConn
}

// Hijack hands out the client's connection wrapped, to follow the frames written to it.
func (w *goingAwayWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	fc := &frameConn{Conn: conn, sent: make(chan struct{})}
	w.mu.Lock()
	w.conn = fc
	w.mu.Unlock()
	return fc, brw, nil
}

// Unwrap lets http.ResponseController reach the writer's other abilities (Flush).
func (w *goingAwayWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// goAway sends the client the close frame at the next frame boundary and waits, at most
// wait, until it is written. It does nothing before the connection is hijacked.
func (w *goingAwayWriter) goAway(wait time.Duration) {
	w.mu.Lock()
	fc := w.conn
	w.mu.Unlock()
	if fc == nil {
		return
	}
	fc.goAway()
	select {
	case <-fc.sent:
	case <-time.After(wait):
	}
}

// frameConn is the client's side of a proxied websocket. Server-to-client frames arrive in
// arbitrary pieces; it tracks the current frame's header and the payload bytes left, so it
// knows when the stream is between frames.
type frameConn struct {
	net.Conn
	mu        sync.Mutex
	header    []byte // the current frame's header bytes seen so far
	remaining uint64 // payload bytes of the current frame still to come
	closing   bool   // a close frame is due at the next boundary
	done      bool   // the close frame was written (or failed): nothing more goes out
	sent      chan struct{}
}

func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return 0, errWentAway
	}
	if !c.closing {
		for rest := p; len(rest) > 0; {
			rest = rest[c.advance(rest):]
		}
		return c.Conn.Write(p)
	}
	written := 0
	for written < len(p) {
		if c.between() {
			c.sendClose()
			return written, errWentAway
		}
		n := c.advance(p[written:])
		if _, err := c.Conn.Write(p[written : written+n]); err != nil {
			return written, err
		}
		written += n
	}
	if c.between() {
		c.sendClose()
	}
	return written, nil
}

// goAway asks for the close frame: at once if the stream is between frames, else after the
// current frame's last byte.
func (c *frameConn) goAway() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return
	}
	c.closing = true
	if c.between() {
		c.sendClose()
	}
}

func (c *frameConn) between() bool { return len(c.header) == 0 && c.remaining == 0 }

// sendClose writes the close frame; the caller holds mu.
func (c *frameConn) sendClose() {
	c.done = true
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write(closeGoingAway)
	close(c.sent)
}

// advance consumes the start of b that belongs to the current frame's header or payload, up
// to the end of that part, and returns how many bytes that is.
func (c *frameConn) advance(b []byte) int {
	if c.remaining > 0 {
		n := uint64(len(b))
		if n > c.remaining {
			n = c.remaining
		}
		c.remaining -= n
		return int(n)
	}
	need := c.headerLen() - len(c.header)
	n := min(need, len(b))
	c.header = append(c.header, b[:n]...)
	if len(c.header) == c.headerLen() && len(c.header) >= 2 {
		c.remaining = c.payloadLen()
		c.header = c.header[:0]
	}
	return n
}

// headerLen is the current frame's header length, as far as the bytes seen tell (RFC 6455
// 5.2: two bytes, then a 16- or 64-bit extended length, then a masking key if masked).
func (c *frameConn) headerLen() int {
	if len(c.header) < 2 {
		return 2
	}
	n := 2
	switch c.header[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if c.header[1]&0x80 != 0 {
		n += 4
	}
	return n
}

func (c *frameConn) payloadLen() uint64 {
	switch l := c.header[1] & 0x7f; l {
	case 126:
		return uint64(binary.BigEndian.Uint16(c.header[2:4]))
	case 127:
		return binary.BigEndian.Uint64(c.header[2:10])
	default:
		return uint64(l)
	}
}
