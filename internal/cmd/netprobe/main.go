// Command netprobe is a test-only HTTP CONNECT proxy; it is never part of a production stack.
//
// End-to-end tests run on the host, which is not on Backpack's overlay networks, yet they must
// send requests to services exactly as Traefik would forward them over backpack_public, and
// prove that some ports (an API's admin port, Mongo, Redis) cannot be reached from there. The
// tests (through internal/swarmtest) run netprobe as a container attached to one network, with
// its port published on the host's loopback, and tunnel through it: every connection is opened
// from inside that network, with its DNS. A failed dial answers 502 with the dial error as the
// body, so a test can tell "unreachable from this network" apart from a broken probe.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/backpackhq/backpack/tools/httpserve"
)

// dialTimeout bounds how long a CONNECT waits for its target: long enough for Docker's DNS and
// a busy engine, short enough that an unreachable target fails a test quickly.
const dialTimeout = 5 * time.Second

// shutdownGrace is how long plain requests (health checks) may take to finish on SIGTERM;
// tunnels are closed once they are done.
const shutdownGrace = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log, nil); err != nil {
		fmt.Fprintln(os.Stderr, "netprobe:", err)
		os.Exit(1)
	}
}

// run serves the proxy until ctx ends; listening, if set, is told the address bound (tests
// listen on port 0).
func run(ctx context.Context, args []string, log *slog.Logger, listening func(net.Addr)) error {
	fs := flag.NewFlagSet("netprobe", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	p := newProxy(log, dialTimeout)
	defer p.closeTunnels()
	return httpserve.Run(ctx, log, shutdownGrace,
		httpserve.Listener{Name: "proxy", Addr: *listen, Handler: p, Listening: listening})
}

// proxy answers CONNECT by opening a tunnel to the target, GET /healthz for readiness, and
// refuses everything else.
type proxy struct {
	log         *slog.Logger
	dialer      net.Dialer
	dialTimeout time.Duration

	// closing ends every open tunnel when cancelled (at shutdown: http.Server.Shutdown does not
	// track hijacked connections).
	closing context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	closed  bool
	tunnels sync.WaitGroup
}

func newProxy(log *slog.Logger, timeout time.Duration) *proxy {
	closing, cancel := context.WithCancel(context.Background())
	return &proxy{log: log, dialTimeout: timeout, closing: closing, cancel: cancel}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	default:
		w.Header().Set("Allow", http.MethodConnect)
		http.Error(w, "netprobe only tunnels: send CONNECT host:port", http.StatusMethodNotAllowed)
	}
}

// connect dials r.Host from this network namespace and splices the client to it.
func (p *proxy) connect(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		http.Error(w, fmt.Sprintf("CONNECT target %q: want host:port: %v", target, err), http.StatusBadRequest)
		return
	}
	// Not cancelled by the client's end of stream: a client may send its last bytes and
	// half-close before the tunnel is up.
	dialCtx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), p.dialTimeout)
	upstream, err := p.dialer.DialContext(dialCtx, "tcp", target)
	cancel()
	if err != nil {
		p.log.Info("unreachable", "target", target, "err", err.Error())
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if !p.track() {
		_ = upstream.Close()
		http.Error(w, "netprobe is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer p.tunnels.Done()
	client, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		p.log.Error("take over connection", "target", target, "err", err.Error())
		http.Error(w, "cannot take over the connection: "+err.Error(), http.StatusInternalServerError)
		return
	}
	stop := context.AfterFunc(p.closing, func() {
		_ = client.Close()
		_ = upstream.Close()
	})
	defer func() {
		stop()
		_ = client.Close()
		_ = upstream.Close()
	}()
	// The server may have set deadlines for reading the request; a tunnel has none.
	if err := client.SetDeadline(time.Time{}); err != nil {
		p.log.Error("clear deadline", "target", target, "err", err.Error())
		return
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		p.log.Info("answer CONNECT", "target", target, "err", err.Error())
		return
	}
	start := time.Now()
	p.log.Info("tunnel open", "target", target, "client", r.RemoteAddr)
	var up, down int64
	var wg sync.WaitGroup
	// Bytes the client sent right after its request are already in buffered's reader.
	wg.Go(func() { up = splice(upstream, buffered.Reader, client) })
	wg.Go(func() { down = splice(client, upstream, upstream) })
	wg.Wait()
	p.log.Info("tunnel closed", "target", target, "client", r.RemoteAddr,
		"bytes_up", up, "bytes_down", down, "duration", time.Since(start).String())
}

// splice copies src (read from srcConn) to dst. At src's end it half-closes dst, so each side
// sees the other's end of stream (an HTTP/1.0 exchange, a client's shutdown); on an error it
// closes both connections, since the tunnel is broken.
func splice(dst net.Conn, src io.Reader, srcConn net.Conn) int64 {
	n, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); err == nil && ok && cw.CloseWrite() == nil {
		return n
	}
	_ = dst.Close()
	_ = srcConn.Close()
	return n
}

// track counts a new tunnel unless shutdown has begun.
func (p *proxy) track() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.tunnels.Add(1)
	return true
}

// closeTunnels ends every open tunnel and waits for them, once the server has stopped.
func (p *proxy) closeTunnels() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.tunnels.Wait()
}
