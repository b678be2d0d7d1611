package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/backpackhq/backpack/controlplane"
	"github.com/backpackhq/backpack/controlplane/runtime/local"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpserve"
)

// shutdownGrace is how long in-flight requests get to finish on SIGTERM.
const shutdownGrace = 20 * time.Second

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	s, err := parseSettings(true, args, getenv)
	if err != nil {
		return err
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(s.dataDir, "controlplane.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	return serveWith(ctx, s, st, filepath.Join(s.dataDir, "secret.key"), stdout, log)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	s, err := parseSettings(false, args, getenv)
	if err != nil {
		return err
	}
	st, err := store.OpenPostgres(ctx, s.databaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	return serveWith(ctx, s, st, "", stdout, log)
}

// serveWith runs the control plane with the local runtime until ctx ends, then shuts down in
// order: stop taking requests, let the reconciler reach a resumable step, stop the backends.
func serveWith(ctx context.Context, s settings, st store.Store, devKeyFile string, stdout io.Writer, log *slog.Logger) error {
	box, err := s.secrets(devKeyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.listenHost, strconv.Itoa(s.port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", s.port, err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	publicPort := s.publicPort
	if publicPort == "" && s.dev {
		publicPort = port
	}
	rt, err := local.New(ctx, local.Config{DataDir: s.dataDir, RedisURL: s.redisURL, AllowLoopbackOrigins: s.domain == "localhost", Logger: log})
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer rt.Close()
	cp, err := controlplane.New(ctx, controlplane.Config{
		Store: st, Runtime: rt, Secrets: box, Domain: s.domain, PublicScheme: s.publicScheme, PublicPort: publicPort,
		Registration: store.RegistrationMode(s.registration), MaxBackendsPerDeveloper: s.maxBackends,
		MetricsToken: s.metricsToken, Logger: log,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer cp.Close()
	return httpserve.Run(ctx, log, shutdownGrace, httpserve.Listener{Name: "controlplane", Open: ln, Handler: cp.Handler(),
		Listening: func(net.Addr) { printWelcome(stdout, s, publicPort) }})
}

func printWelcome(w io.Writer, s settings, port string) {
	host := func(label string) string {
		u := s.publicScheme + "://" + label + s.domain
		if port != "" {
			u += ":" + port
		}
		return u
	}
	mode := "serve"
	if s.dev {
		mode = "dev"
	}
	abs, _ := filepath.Abs(s.dataDir)
	fmt.Fprintf(w, `Backpack (%s) is running
  admin API:  %s/api   (also %s)
  backends:   %s (API) and %s (site)
  data:       %s
The first account you register becomes the operator:
  curl -c cookies -H 'Content-Type: application/json' -d '{"email":"you@example.com","password":"a long password"}' %s/api/auth/register
`, mode, host("admin."), host(""), host("NAME-be."), host("NAME."), abs, host("admin."))
	if s.dev {
		fmt.Fprintln(w, "Stop with Ctrl-C; backends and their data come back on the next start.")
	}
}
