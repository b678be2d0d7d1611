package httpserve

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// phase is where a Serve call is in its ending, shared with its requests through their
// context so that handlers can take part without being wired to the server.
type phase struct {
	draining  atomic.Bool
	unready   atomic.Bool
	goingAway context.Context
	goAway    context.CancelFunc
}

func newPhase() *phase {
	p := &phase{}
	p.goingAway, p.goAway = context.WithCancel(context.Background())
	return p
}

// startDrain starts a drain of length drain: connections close after each answer at once,
// readiness answers 503 from half-way through (Unready). The first half keeps the replica
// in its load balancer's health check while the balancer learns of its successor: Traefik's
// swarm provider adds the new task and drops this one in the same poll, but its health check
// may run first, and a replica dropped before its successor is added leaves the service with
// no server at all ("no available server"). The second half still drops it in time should
// the poll be late. 0 is unready at once.
func (p *phase) startDrain(drain time.Duration) {
	p.draining.Store(true)
	if drain <= 0 {
		p.unready.Store(true)
		return
	}
	time.AfterFunc(drain/2, func() { p.unready.Store(true) })
}

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

// Unready reports whether the server that received the request (ctx is its context) is far
// enough into its drain that readiness must answer 503, so that the load balancer stops
// sending it traffic; it still serves. It is false for requests not served by Serve.
func Unready(ctx context.Context) bool {
	p, ok := ctx.Value(phaseKey{}).(*phase)
	return ok && p.unready.Load()
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
