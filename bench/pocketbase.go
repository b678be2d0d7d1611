package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
)

// startPocketBase creates a superuser in a new data directory, serves it on a loopback port,
// creates the collections the workloads use (every API rule open to anyone, so its requests
// carry no credentials) and returns it as a peer server.
func startPocketBase(ctx context.Context, cfg peerConfig, parent string) (*peerServer, error) {
	bin := cfg.pocketBase
	if bin == "" {
		return nil, errors.New("no PocketBase binary: run scripts/build-gotool.sh pocketbase or set -pocketbase")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w: run scripts/build-gotool.sh pocketbase or set -pocketbase", err)
	}
	dir, err := os.MkdirTemp(parent, "pocketbase-")
	if err != nil {
		return nil, err
	}
	env := serverEnv(os.Environ(), cfg.gomaxprocs)
	// PocketBase puts its hooks and migrations directories beside the data directory: both
	// stay inside dir.
	data := filepath.Join(dir, "pb_data")
	email, password := "bench@example.com", rand.Text()
	upsert := exec.CommandContext(ctx, bin, "superuser", "upsert", email, password, "--dir", data)
	upsert.Env = env
	if out, err := upsert.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pocketbase superuser upsert: %w: %s", err, bytes.TrimSpace(out))
	}
	addr, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProcess("PocketBase", bin, []string{"serve", "--http", addr, "--dir", data}, env, filepath.Join(dir, "pocketbase.log"))
	if err != nil {
		return nil, err
	}
	baseURL := "http://" + addr
	if _, err := p.waitReady(ctx, baseURL+"/api/health"); err != nil {
		p.close()
		return nil, err
	}

	admin := newPeerClient(baseURL, "", cfg.clients)
	var auth struct {
		Token string `json:"token"`
	}
	creds := map[string]string{"identity": email, "password": password}
	if err := admin.call(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password", creds, http.StatusOK, &auth); err != nil {
		p.close()
		return nil, err
	}
	admin.token = auth.Token
	for _, name := range []string{benchCollection, itemsCollection} {
		if err := createPocketBaseCollection(ctx, admin, name); err != nil {
			p.close()
			return nil, err
		}
	}
	records := func(collection string) string { return "/api/collections/" + collection + "/records" }
	return &peerServer{
		about:        fmt.Sprintf("PocketBase %s (%s), its own process; SQLite", pocketBaseVersion, pocketBaseBuild(bin)),
		client:       newPeerClient(baseURL, "", cfg.clients),
		createPath:   records,
		createStatus: http.StatusOK,
		idField:      "id",
		itemPath:     func(id string) string { return records(itemsCollection) + "/" + id },
		// skipTotal: PocketBase otherwise counts the whole collection for every page, which
		// Backpack does only when asked (?count=true).
		listPath: fmt.Sprintf("%s?perPage=%d&sort=-n&skipTotal=1", records(itemsCollection), listLimit),
		listBelowPath: func(bound int) string {
			return fmt.Sprintf("%s?perPage=%d&sort=-n&skipTotal=1&filter=%s", records(itemsCollection), listLimit, url.QueryEscape(fmt.Sprintf("n<%d", bound)))
		},
		pageLength: itemsLength,
		createIndex: func(ctx context.Context) error {
			index := fmt.Sprintf("CREATE INDEX `%s` ON `%s` (`n`)", peerIndexName, itemsCollection)
			return admin.call(ctx, http.MethodPatch, "/api/collections/"+itemsCollection, map[string]any{"indexes": []string{index}}, http.StatusOK, nil)
		},
		process: p,
		close:   p.close,
	}, nil
}

// pocketBaseBuild is the PocketBase module version the binary links, which confirms it is the
// version compared ("module v0.34.2"), or "build unknown".
func pocketBaseBuild(bin string) string {
	info, err := readBinaryInfo(bin)
	if err != nil {
		return "build unknown"
	}
	v := info.deps["github.com/pocketbase/pocketbase"]
	if v == "" {
		return "build unknown"
	}
	return "module " + v
}

// createPocketBaseCollection creates a base collection with the fields Backpack's scenarios
// write (title, n) and every API rule open to anyone ("").
func createPocketBaseCollection(ctx context.Context, admin *apiClient, name string) error {
	open := ""
	collection := map[string]any{
		"name": name, "type": "base",
		"listRule": &open, "viewRule": &open, "createRule": &open, "updateRule": &open, "deleteRule": &open,
		"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "n", "type": "number"}},
	}
	if err := admin.call(ctx, http.MethodPost, "/api/collections", collection, http.StatusOK, nil); err != nil {
		return fmt.Errorf("create PocketBase collection %s: %w", name, err)
	}
	return nil
}
