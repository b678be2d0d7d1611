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
	"sync"
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
	// Later, if set, gives the address to listen on once it can be known (Addr is then
	// ignored): the listener starts when Later returns, while the others already serve, and
	// Later's error ends Serve as a failing server's does. The API's admin port needs it: in a
	// Swarm task with a health check, the task's name on the admin network resolves only once
	// the task is healthy, which takes the public port answering first.
	Later func(context.Context) (string, error)
}

// Shutdown is how Serve ends once its context is done.
type Shutdown struct {
	// Drain is how long the listeners keep serving after the context ends while announcing
	// the end: every answer closes its connection, and from half-way Unready is true for their
	// requests (readiness answers 503). It must outlast the time the load balancer takes to
	// notice (for Traefik's swarm provider: its poll plus its throttle). 0 skips the drain.
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
	var (
		mu      sync.Mutex
		servers []*http.Server
		names   []string
		stopped bool
	)
	errs := make(chan error, len(listeners))
	// serve starts serving l on ln, unless Serve is already stopping.
	serve := func(l Listener, ln net.Listener) {
		srv := &http.Server{Handler: st.closeWhileDraining(l.Handler), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			BaseContext: func(net.Listener) context.Context { return base }}
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			_ = ln.Close()
			return
		}
		servers, names = append(servers, srv), append(names, l.Name)
		log.Info("listening", "listener", l.Name, "addr", ln.Addr().String())
		if l.Listening != nil {
			l.Listening(ln.Addr())
		}
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve %s: %w", l.Name, err)
			}
		}()
	}
	opened := make([]net.Listener, len(listeners))
	for i, l := range listeners {
		if l.Later != nil {
			continue
		}
		ln, err := l.Open, error(nil)
		if ln == nil {
			ln, err = net.Listen("tcp", l.Addr)
		}
		if err != nil {
			for _, prev := range opened[:i] {
				if prev != nil {
					_ = prev.Close()
				}
			}
			return fmt.Errorf("listen %s on %s: %w", l.Name, l.Addr, err)
		}
		opened[i] = ln
	}
	for i, l := range listeners {
		if opened[i] != nil {
			serve(l, opened[i])
		}
	}
	lateCtx, cancelLate := context.WithCancel(ctx)
	defer cancelLate()
	for _, l := range listeners {
		if l.Later == nil {
			continue
		}
		go func() {
			addr, err := l.Later(lateCtx)
			if err == nil {
				var ln net.Listener
				if ln, err = net.Listen("tcp", addr); err == nil {
					serve(l, ln)
					return
				}
				err = fmt.Errorf("listen %s on %s: %w", l.Name, addr, err)
			}
			if lateCtx.Err() == nil {
				errs <- err
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
		st.startDrain(stop.Drain)
		if stop.Drain > 0 {
			log.Info("draining: connections close after their answer, readiness answers 503 from half-way", "drain", stop.Drain.String())
			timer := time.NewTimer(stop.Drain)
			select {
			case <-timer.C:
			case runErr = <-errs:
				timer.Stop()
			}
		}
	case runErr = <-errs:
		st.startDrain(0)
	}
	log.Info("going away: ending websockets and event streams")
	st.goAway()
	log.Info("shutting down: in-flight requests finish", "grace", stop.Grace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stop.Grace)
	defer cancel()
	cancelLate()
	mu.Lock()
	stopped = true
	mu.Unlock()
	for i, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("shutdown %s: %w", names[i], err))
		}
	}
	log.Info("shut down")
	return runErr
}
