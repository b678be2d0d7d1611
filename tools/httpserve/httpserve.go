// Package httpserve runs HTTP listeners until their context ends, then shuts them down
// gracefully so in-flight requests finish: the SIGTERM behaviour every Backpack binary needs.
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

// Run listens on every address (all or none: a port already taken fails the start), serves
// until ctx ends or a server fails, then gives in-flight requests up to grace to finish.
func Run(ctx context.Context, log *slog.Logger, grace time.Duration, listeners ...Listener) error {
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
		servers[i] = &http.Server{Handler: l.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
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
		log.Info("shutting down", "grace", grace.String())
	case runErr = <-errs:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	for i, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("shutdown %s: %w", listeners[i].Name, err))
		}
	}
	return runErr
}
