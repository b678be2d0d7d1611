// Command backpack is the control plane: `backpack serve` in production (PostgreSQL), and
// `backpack dev`, the whole product on one machine with nothing else installed (SQLite, and
// backends run in-process by the local runtime).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/backpackhq/backpack/internal/healthcheck"
)

const usage = `Backpack control plane.

Usage:
  backpack dev   [flags]   run everything on this machine: no Docker, no database server
  backpack serve [flags]   run in production against PostgreSQL
  backpack render NAME --domain DOMAIN [flags]
                           print backend NAME's Docker Swarm stack, for
                           "backpack render NAME --domain DOMAIN | docker stack deploy -c - NAME"
  backpack healthcheck [--port N] [--listen-host H]
                           exit 0 if the control plane on this machine is ready
                           (GET /readyz), else 1 saying why: the container's check
  backpack help            show this

Run "backpack COMMAND -h" for the flags of a command. Every flag can also be set through the
environment variable named in its description.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "backpack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("name a command: dev, serve or render")
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	var err error
	switch args[0] {
	case "dev":
		err = runDev(ctx, args[1:], getenv, stdout, log)
	case "serve":
		err = runServe(ctx, args[1:], getenv, stdout, log)
	case "render":
		err = runRender(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		err = healthcheck.Run(ctx, "backpack", args[1:], getenv, defaultPort, "", "/readyz")
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
