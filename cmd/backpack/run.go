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
	"github.com/backpackhq/backpack/controlplane/runtime"
	"github.com/backpackhq/backpack/controlplane/runtime/local"
	"github.com/backpackhq/backpack/controlplane/runtime/swarm"
	"github.com/backpackhq/backpack/controlplane/store"
	"github.com/backpackhq/backpack/tools/httpserve"
	"github.com/docker/docker/client"
)

// shutdownGrace is how long in-flight requests get to finish on SIGTERM, after the drain.
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
	dbURL, err := s.databaseURLWithPassword()
	if err != nil {
		return err
	}
	st, err := store.OpenPostgres(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	return serveWith(ctx, s, st, "", stdout, log)
}

// serveWith runs the control plane until ctx ends, then shuts down in order: stop taking
// requests, let the reconciler reach a resumable step, stop the backends (the local runtime's;
// a swarm's keep running).
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
	rt, err := s.openRuntime(ctx, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer rt.Close()
	cfg := controlplane.Config{
		Store: st, Runtime: rt, Secrets: box, Domain: s.domain, PublicScheme: s.publicScheme, PublicPort: publicPort,
		Registration: store.RegistrationMode(s.registration), MaxBackendsPerDeveloper: s.maxBackends, MaxAPIReplicas: s.maxReplicas,
		MetricsToken: s.metricsToken, TrustedProxies: s.trustedProxies, Limits: s.throttle, Logger: log,
		BackupDir: s.backupDir, BackupSchedule: store.BackupSchedule(s.backupSchedule), BackupKeep: s.backupKeep,
		BackupQuotaBytes: s.backupQuotaBytes,
	}
	if s.backupQuotaBytes == 0 {
		cfg.BackupQuotaBytes = -1 // no limit
	}
	// The control plane outlives the signal: it serves through the listener's drain, and its
	// streams end when the drain does (httpserve.GoingAway); Close, once the listener is shut,
	// then stops the reconciler.
	cp, err := controlplane.New(context.WithoutCancel(ctx), cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer cp.Close()
	return httpserve.Serve(ctx, log, httpserve.Shutdown{Drain: s.drain, Grace: shutdownGrace}, httpserve.Listener{Name: "controlplane", Open: ln, Handler: cp.Handler(),
		Listening: func(net.Addr) { printWelcome(stdout, s, publicPort) }})
}

// openRuntime starts what runs backends.
func (s settings) openRuntime(ctx context.Context, log *slog.Logger) (runtime.Runtime, error) {
	if s.runtime != "swarm" {
		return local.New(ctx, local.Config{DataDir: s.dataDir, RedisURL: s.redisURL, AllowLoopbackOrigins: s.domain == "localhost",
			TrustedProxies: s.trustedProxies, Logger: log})
	}
	engine, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("connect to the Docker Engine API: %w", err)
	}
	rt, err := swarm.New(ctx, swarm.Config{
		Engine: engine, Domain: s.domain, TLS: &s.stack.TLS, CertResolver: s.stack.CertResolver,
		EntryPoints: s.stack.EntryPoints, API: s.stack.API, Mongo: s.stack.Mongo, Redis: s.stack.Redis,
		Web: s.stack.Web, TrustedProxies: s.stack.TrustedProxies, Logger: log,
	})
	if err != nil {
		_ = engine.Close()
		return nil, err
	}
	return rt, nil
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
	panel := host("admin.")
	if s.dev {
		panel = host("") + "   (also " + host("admin.") + ")"
	}
	fmt.Fprintf(w, `Backpack (%s) is running
  admin panel: %s
  admin API:   %s/api
  backends:    %s (API) and %s (site)
  data:        %s
The first account you register (in the panel, or with curl) becomes the operator:
  curl -c cookies -H 'Content-Type: application/json' -d '{"email":"you@example.com","password":"a long password"}' %s/api/auth/register
`, mode, panel, host("admin."), host("NAME-be."), host("NAME."), abs, host("admin."))
	if s.dev {
		fmt.Fprintln(w, "Stop with Ctrl-C; backends and their data come back on the next start.")
	}
}
