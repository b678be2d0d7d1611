// Package healthcheck is the `healthcheck` subcommand of both binaries: it asks the running
// server, in the same container, whether it is ready. The images are FROM scratch (no shell,
// no curl), so this is what Docker's HEALTHCHECK and a stack's healthcheck run.
package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backpackhq/backpack/internal/flagenv"
)

// DefaultTimeout bounds the whole probe: a server that does not answer within it is not ready.
const DefaultTimeout = 2 * time.Second

// Run parses the subcommand's flags (the server's own port and listen host settings, so the
// probe finds the server with the environment it runs with) and GETs path (its readiness
// check, "/readyz" or with a query) there. It returns nil on 200 and otherwise an error of one
// line saying why. defPort and defHost are the server's defaults.
func Run(ctx context.Context, name string, args []string, getenv func(string) string, defPort int, defHost, path string) error {
	env := flagenv.FromGetenv(getenv)
	fs := flag.NewFlagSet(name+" healthcheck", flag.ContinueOnError)
	port := fs.Int("port", env.Int("BACKPACK_PORT", defPort), "the server's port (BACKPACK_PORT)")
	host := fs.String("listen-host", env("BACKPACK_LISTEN_HOST", defHost), "the server's listen host; empty or a wildcard address means loopback (BACKPACK_LISTEN_HOST)")
	timeout := fs.Duration("timeout", DefaultTimeout, "how long the server has to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *port <= 0 || *port > 65535 {
		return errors.New("healthcheck: BACKPACK_PORT / --port must name the server's fixed port")
	}
	if *timeout <= 0 {
		return errors.New("healthcheck: --timeout must be positive")
	}
	return Probe(ctx, "http://"+net.JoinHostPort(probeHost(*host), strconv.Itoa(*port))+path, *timeout)
}

// probeHost is where a server listening on host is reached from inside its own container:
// loopback when it listens on every interface.
func probeHost(host string) string {
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

// Probe GETs url and returns nil on 200, else an error of one line: the status and the
// contract's error code and message, or why no answer came.
func Probe(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("healthcheck: %s did not answer within %s", url, timeout)
		}
		return fmt.Errorf("healthcheck: GET %s: %w", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode == http.StatusOK {
		return nil
	}
	var answer struct {
		Error struct {
			Code, Message string
			Details       struct{ Checks map[string]string }
		}
	}
	if json.Unmarshal(body, &answer) == nil && answer.Error.Code != "" {
		var failing []string
		for name, state := range answer.Error.Details.Checks {
			if state != "ok" {
				failing = append(failing, name+" "+state)
			}
		}
		why := answer.Error.Message
		if len(failing) > 0 {
			slices.Sort(failing)
			why += " (" + strings.Join(failing, ", ") + ")"
		}
		return fmt.Errorf("healthcheck: %s answered %d %s: %s", url, res.StatusCode, answer.Error.Code, why)
	}
	return fmt.Errorf("healthcheck: %s answered %d", url, res.StatusCode)
}
