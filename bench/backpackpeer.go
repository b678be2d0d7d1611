package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/backpackhq/backpack/internal/redisserver"
	"github.com/backpackhq/backpack/tools/docstore"
)

// backpackAPI is a backpack-api process the peer scenario started, and what it needs to be
// measured: its addresses and secrets.
type backpackAPI struct {
	process            *serverProcess
	baseURL, adminURL  string
	apiKey, adminToken string
	readyBody          []byte
	info               binaryInfo
	dataDir            string
}

// startBackpackAPI writes an API key and an admin token into dir, starts bin with args plus
// the data directory, loopback ports and secret files, and waits for its /readyz.
func startBackpackAPI(ctx context.Context, cfg peerConfig, bin, dir string, args ...string) (*backpackAPI, error) {
	b := &backpackAPI{apiKey: rand.Text(), adminToken: rand.Text(), dataDir: filepath.Join(dir, "data")}
	keyFile, tokenFile := filepath.Join(dir, "api-key"), filepath.Join(dir, "admin-token")
	if err := os.WriteFile(keyFile, []byte(b.apiKey+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(tokenFile, []byte(b.adminToken+"\n"), 0o600); err != nil {
		return nil, err
	}
	info, err := readBinaryInfo(bin)
	if err != nil {
		return nil, err
	}
	b.info = info
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	public, admin := ports[0], ports[1]
	args = append(args, "--data-dir", b.dataDir, "--listen-host", "127.0.0.1",
		"--port", fmt.Sprint(public), "--admin-port", fmt.Sprint(admin),
		"--api-key-file", keyFile, "--admin-token-file", tokenFile)
	b.baseURL = fmt.Sprintf("http://127.0.0.1:%d", public)
	b.adminURL = fmt.Sprintf("http://127.0.0.1:%d", admin)
	p, err := startProcess("backpack-api", bin, args, serverEnv(os.Environ(), cfg.gomaxprocs), filepath.Join(dir, "backpack-api.log"))
	if err != nil {
		return nil, err
	}
	b.process = p
	if b.readyBody, err = p.waitReady(ctx, b.baseURL+"/readyz"); err != nil {
		p.close()
		return nil, err
	}
	return b, nil
}

// server signs a user in, creates the collections the workloads use and returns the API as a
// peer server; about says how it was started.
func (b *backpackAPI) server(ctx context.Context, cfg peerConfig, about string) (*peerServer, error) {
	client := newPeerClient(b.baseURL, b.apiKey, cfg.clients)
	if _, err := client.signIn(ctx); err != nil {
		return nil, fmt.Errorf("%w: %s", err, b.process.logTail())
	}
	for _, name := range []string{benchCollection, itemsCollection} {
		if err := client.call(ctx, http.MethodPost, "/collections", map[string]string{"name": name}, http.StatusCreated, nil); err != nil {
			return nil, err
		}
	}
	return &peerServer{
		about:        about,
		client:       client,
		createPath:   func(collection string) string { return "/" + collection },
		createStatus: http.StatusCreated,
		idField:      "_id",
		itemPath:     func(id string) string { return "/" + itemsCollection + "/" + id },
		listPath:     fmt.Sprintf("/%s?limit=%d&sort=-n", itemsCollection, listLimit),
		listBelowPath: func(bound int) string {
			return fmt.Sprintf("/%s?limit=%d&sort=-n&filter=%s", itemsCollection, listLimit, url.QueryEscape(fmt.Sprintf(`{"n":{"$lt":%d}}`, bound)))
		},
		pageLength:  arrayLength,
		createIndex: b.createIndex,
		process:     b.process,
	}, nil
}

// createIndex asks the admin port for an index on -n, as the contract (section 5) defines it,
// and says why when the API cannot create one.
func (b *backpackAPI) createIndex(ctx context.Context) error {
	body, err := json.Marshal(map[string]any{"fields": []string{"-n"}, "unique": false})
	if err != nil {
		return err
	}
	path := "/admin/collections/" + itemsCollection + "/indexes"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.adminURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.adminToken)
	req.Header.Set("Content-Type", "application/json")
	// Building an index over the seeded records may take a while on a slow engine.
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	err = expect(resp, http.StatusCreated, nil)
	switch {
	case err == nil:
		return nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return fmt.Errorf("%w: POST %s on the admin port answers %d (no index support in the API yet)", errNotAvailable, path, resp.StatusCode)
	default:
		return fmt.Errorf("POST %s: %w", path, err)
	}
}

// embeddedEngine says which engine an embedded backpack-api runs: the one its /readyz names,
// unless the binary links FerretDB and /readyz says mongo, which is the FerretDB of the
// versions before the sqlite engine, run in-process.
func embeddedEngine(readyBody []byte, info binaryInfo) string {
	engine := readyEngine(readyBody)
	ferret, linksFerret := info.deps[ferretDBModule]
	switch {
	case linksFerret && (engine == "" || engine == docstore.EngineMongo):
		return "FerretDB " + ferret + " in-process on SQLite (the binary links FerretDB; /readyz checks: " + readyChecks(readyBody) + ")"
	case engine != "":
		return engine + " (named by /readyz)"
	}
	return "unknown (/readyz names none, its checks: " + readyChecks(readyBody) + ")"
}

// startBackpackEmbedded runs `backpack-api --embedded`: the self-contained server, its database
// inside its own process, sessions in memory.
func startBackpackEmbedded(ctx context.Context, cfg peerConfig, bin, parent string) (*peerServer, error) {
	dir, err := os.MkdirTemp(parent, "embedded-")
	if err != nil {
		return nil, err
	}
	b, err := startBackpackAPI(ctx, cfg, bin, dir, "--embedded", "--engine", docstore.EngineSQLite)
	if err != nil {
		return nil, err
	}
	about := fmt.Sprintf("backpack-api %s --embedded --engine sqlite, its own process; engine: %s", revisionOrUnknown(b.info, cfg.backpackAPI == ""), embeddedEngine(b.readyBody, b.info))
	srv, err := b.server(ctx, cfg, about)
	if err != nil {
		b.process.close()
		return nil, err
	}
	srv.close = b.process.close
	return srv, nil
}

// startBackpackMongo runs backpack-api on the mongo engine the way a stack does, with a
// MongoDB URL and Redis, against the FerretDB stand-in (internal/cmd/mongo-standin, its own
// process on a loopback port) instead of mongo:7, and a throw-away redis-server.
func startBackpackMongo(ctx context.Context, cfg peerConfig, apiBin, standinBin, parent string) (*peerServer, error) {
	var undo closers
	dir, err := os.MkdirTemp(parent, "mongo-")
	if err != nil {
		return nil, err
	}
	addr, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	standin, err := startProcess("FerretDB stand-in", standinBin, []string{"--listen", addr, "--dir", filepath.Join(dir, "standin")},
		serverEnv(os.Environ(), cfg.gomaxprocs), filepath.Join(dir, "mongo-standin.log"))
	if err != nil {
		return nil, err
	}
	undo.add(standin.close)
	if err := waitListening(ctx, standin, addr); err != nil {
		return startFailed(&undo, err)
	}

	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		return startFailed(&undo, errors.New("redis-server not found: run scripts/test-env.sh"))
	}
	redisDir := filepath.Join(dir, "redis")
	if err := os.Mkdir(redisDir, 0o700); err != nil {
		return startFailed(&undo, err)
	}
	redisURL, stopRedis, err := redisserver.Start(ctx, redisBin, redisDir)
	if err != nil {
		return startFailed(&undo, err)
	}
	undo.add(stopRedis)

	b, err := startBackpackAPI(ctx, cfg, apiBin, dir, "--engine", docstore.EngineMongo,
		"--mongo-url", "mongodb://"+addr+"/"+benchDatabase, "--redis-url", redisURL)
	if err != nil {
		return startFailed(&undo, err)
	}
	undo.add(b.process.close)
	standinInfo, err := readBinaryInfo(standinBin)
	if err != nil {
		return startFailed(&undo, err)
	}
	engine := readyEngine(b.readyBody)
	if engine == "" {
		engine = "unknown (/readyz names none, its checks: " + readyChecks(b.readyBody) + ")"
	}
	about := fmt.Sprintf("backpack-api %s --engine mongo --mongo-url --redis-url, its own process; engine: %s; database: FerretDB %s stand-in "+
		"(internal/cmd/mongo-standin, SQLite, its own process), redis-server %s", revisionOrUnknown(b.info, cfg.backpackAPI == ""), engine,
		standinInfo.deps[ferretDBModule], redisVersion(redisBin))
	srv, err := b.server(ctx, cfg, about)
	if err != nil {
		return startFailed(&undo, err)
	}
	srv.database = standin
	srv.close = undo.run
	return srv, nil
}

// waitListening waits until addr accepts TCP connections, the process exits, ctx ends or
// serverStartup has passed.
func waitListening(ctx context.Context, p *serverProcess, addr string) error {
	deadline := time.Now().Add(serverStartup)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited at startup: %s", p.name, p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %s: %s", p.name, addr, serverStartup, p.logTail())
		}
	}
}

// revisionOrUnknown is the commit a Backpack binary was built from, for the report: the one it
// records, else, if the bench built it (builtHere; with -buildvcs=false, which GOFLAGS may say),
// the working tree's.
func revisionOrUnknown(info binaryInfo, builtHere bool) string {
	if info.revision != "" {
		return "at " + info.revision
	}
	if rev := treeRevision(); builtHere && rev != "" {
		return "at " + rev
	}
	return "(commit unknown)"
}
