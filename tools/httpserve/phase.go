package httpserve

import (
	"context"
	"net/http"
	"sync/atomic"
)

// phase is where a Serve call is in its ending, shared with its requests through their
// context so that handlers can take part without being wired to the server.
type phase struct {
	draining  atomic.Bool
	goingAway context.Context
	goAway    context.CancelFunc
}

func newPhase() *phase {
	p := &phase{}
	p.goingAway, p.goAway = context.WithCancel(context.Background())
	return p
}

func (p *phase) startDrain() { p.draining.Store(true) }

// closeWhileDraining asks for the connection to be closed after each answer given during the
// drain ("Connection: close"), so that a load balancer's keep-alive connections wind down
// one by one, each after a complete exchange, instead of being cut while a request may be
// on its way. Protocol upgrades (websockets) keep their own Connection header: they are told
// to go at the end of the drain (GoingAway).
func (p *phase) closeWhileDraining(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.draining.Load() && r.Header.Get("Upgrade") == "" {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

type phaseKey struct{}

// Draining reports whether the server that received the request (ctx is its context) is
// draining: it still serves, but readiness must answer 503 so the load balancer stops
// sending it traffic. It is false for requests not served by Serve.
func Draining(ctx context.Context) bool {
	p, ok := ctx.Value(phaseKey{}).(*phase)
	return ok && p.draining.Load()
}

// GoingAway returns a context that ends when the server that received the request (ctx is
// its context) ends its long-lived answers: websockets (which http.Server.Shutdown does not
// track once hijacked) and event streams should then close, with "going away", so their
// clients reconnect to another replica. It never ends for requests not served by Serve.
func GoingAway(ctx context.Context) context.Context {
	if p, ok := ctx.Value(phaseKey{}).(*phase); ok {
		return p.goingAway
	}
	return context.Background()
}
