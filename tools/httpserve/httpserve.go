// Package httpserve runs HTTP listeners until their context ends, then leaves the load
// balancer without failing a request: it drains (readiness answers 503, every other request is
// still served, keep-alive connections are closed after their next answer), tells long-lived
// connections to go, and shuts down gracefully so in-flight requests finish. It is the SIGTERM
// behaviour every Backpack binary needs.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listener is one address and what serves it.
type Listener struct {
	Name    string
	Addr    string
	Handler http.Handler
	// Listening, if set, is told the address actually bound (Addr may ask for port 0).
	Listening func(net.Addr)
	// Open, if set, is a listener the caller already opened (to know its port before building
	// the handler); Addr is then ignored.
	Open net.Listener
}

// Shutdown is how Serve ends once its context is done.
type Shutdown struct {
	// Drain is how long the listeners keep serving after the context ends while announcing
	// the end: Draining is true for their requests (readiness answers 503), and every answer
	// closes its connection. It must outlast the time the load balancer takes to notice (for
	// Traefik's swarm provider: its poll plus its throttle). 0 skips the drain.
	Drain time.Duration
	// Grace is how long in-flight requests get to finish after the drain.
	Grace time.Duration
}

// Run is Serve with no drain: on ctx's end, in-flight requests get up to grace to finish.
func Run(ctx context.Context, log *slog.Logger, grace time.Duration, listeners ...Listener) error {
	return Serve(ctx, log, Shutdown{Grace: grace}, listeners...)
}

// Serve listens on every address (all or none: a port already taken fails the start), serves
// until ctx ends or a server fails, then drains for stop.Drain, ends long-lived answers (see
// GoingAway) and gives in-flight requests up to stop.Grace to finish.
func Serve(ctx context.Context, log *slog.Logger, stop Shutdown, listeners ...Listener) error {
	st := newPhase()
	defer st.goAway()
	base := context.WithValue(context.WithoutCancel(ctx), phaseKey{}, st)
	servers := make([]*http.Server, len(listeners))
	nets := make([]net.Listener, len(listeners))
	for i, l := range listeners {
		ln, err := l.Open, error(nil)
		if ln == nil {
			ln, err = net.Listen("tcp", l.Addr)
		}
		if err != nil {
			for _, prev := range nets[:i] {
				_ = prev.Close()
			}
			return fmt.Errorf("listen %s on %s: %w", l.Name, l.Addr, err)
		}
		nets[i] = ln
		servers[i] = &http.Server{Handler: st.closeWhileDraining(l.Handler), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			BaseContext: func(net.Listener) context.Context { return base }}
	}
	errs := make(chan error, len(servers))
	for i, srv := range servers {
		log.Info("listening", "listener", listeners[i].Name, "addr", nets[i].Addr().String())
		if listeners[i].Listening != nil {
			listeners[i].Listening(nets[i].Addr())
		}
		go func() {
			if err := srv.Serve(nets[i]); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve %s: %w", listeners[i].Name, err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
		st.startDrain()
		if stop.Drain > 0 {
			log.Info("draining: readiness answers 503, connections close after their answer", "drain", stop.Drain.String())
			timer := time.NewTimer(stop.Drain)
			select {
			case <-timer.C:
			case runErr = <-errs:
				timer.Stop()
			}
		}
	case runErr = <-errs:
		st.startDrain()
	}
	log.Info("going away: ending websockets and event streams")
	st.goAway()
	log.Info("shutting down: in-flight requests finish", "grace", stop.Grace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stop.Grace)
	defer cancel()
	for i, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("shutdown %s: %w", listeners[i].Name, err))
		}
	}
	log.Info("shut down")
	return runErr
}
