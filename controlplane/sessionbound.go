package controlplane

import (
	"context"
	"sync"
	"time"

	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/labstack/echo/v4"
)

// signOuts wakes the session watches of open streams when a developer signs out, so those
// streams end at once instead of at their next periodic check.
type signOuts struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignOuts() *signOuts { return &signOuts{ch: make(chan struct{})} }

// next returns a channel closed at the next sign-out.
func (o *signOuts) next() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ch
}

func (o *signOuts) notify() {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.ch)
	o.ch = make(chan struct{})
}

// sessionBound returns a context for a long-lived answer (an event or log stream, a proxied
// request or websocket): it ends with the request, with the server, and as soon as the
// session that opened it ends — at its expiry, when a developer signs out (which wakes the
// check), and otherwise within one KeepAlive period, when the session is checked again (an
// operator may have removed it). Call cancel when the answer is done. Only use it behind
// requireDeveloper: without a session the context is done at once. Streams also end when the
// listener goes away (untilGoingAway).
func (s *Server) sessionBound(c echo.Context) (context.Context, context.CancelFunc) {
	return s.boundToSession(c, true)
}

// sessionBoundRequest is sessionBound for an answer that ends by itself (a proxied request, a
// download): it does not end when the server stops, so a server draining its last requests
// before it exits (another control plane has taken over) lets it finish.
func (s *Server) sessionBoundRequest(c echo.Context) (context.Context, context.CancelFunc) {
	return s.boundToSession(c, false)
}

func (s *Server) boundToSession(c echo.Context, withServer bool) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(c.Request().Context())
	sess, ok := c.Get(ctxSession).(store.Session)
	if !ok {
		cancel()
		return ctx, cancel
	}
	stopWithServer := func() bool { return false }
	if withServer {
		stopWithServer = context.AfterFunc(s.lifetime, cancel)
	}
	expiry := time.AfterFunc(time.Until(sess.ExpiresAt), cancel)
	go func() {
		defer stopWithServer()
		defer expiry.Stop()
		tick := time.NewTicker(s.cfg.KeepAlive)
		defer tick.Stop()
		wake := s.signOuts.next()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-wake:
			}
			// Taken before the check, so a sign-out during it wakes the next round.
			wake = s.signOuts.next()
			if _, _, err := s.store.SessionByTokenHash(ctx, sess.TokenHash, time.Now()); err != nil {
				cancel()
				return
			}
		}
	}()
	return ctx, cancel
}
