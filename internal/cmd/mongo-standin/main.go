// Command mongo-standin is the test image backpack-test/mongo:7 (deploy/testimages/mongo): a
// MongoDB wire-protocol server that tests run in place of the official mongo image.
//
// Tests of the Swarm runtime deploy real backend stacks, but no registry is reachable where they
// run, so the mongo image cannot be pulled. This program serves FerretDB v1 on SQLite (the same
// server as the embedded default, tools/embeddeddb) on a network port, so the API in a stack talks
// the real protocol through the real driver, as it does against mongo in production. It is never
// part of a production stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/backpackhq/backpack/tools/embeddeddb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], log, nil); err != nil {
		fmt.Fprintln(os.Stderr, "mongo-standin:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; listening, if set, is told the server's mongodb:// URI (tests
// listen on port 0).
func run(ctx context.Context, args []string, log *slog.Logger, listening func(uri string)) error {
	fs := flag.NewFlagSet("mongo-standin", flag.ContinueOnError)
	listen := fs.String("listen", "0.0.0.0:27017", "address to serve the Mongo wire protocol on")
	dir := fs.String("dir", "/data/db", "directory for the SQLite databases (one file per database)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	srv, err := embeddeddb.StartAt(ctx, *listen, *dir, log)
	if err != nil {
		return err
	}
	log.Info("serving", "uri", srv.URI(), "dir", *dir)
	if listening != nil {
		listening(srv.URI())
	}
	<-ctx.Done()
	log.Info("stopping")
	srv.Close()
	return nil
}
