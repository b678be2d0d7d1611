package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/testenv"
	"github.com/backpackhq/backpack/stacktemplates"
	"github.com/backpackhq/backpack/tools/credentials"
)

func TestParseSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	dev, err := parseSettings(true, nil, env())
	if err != nil || dev.domain != "localhost" || dev.publicScheme != "http" || dev.listenHost != "127.0.0.1" ||
		dev.registration != "open" || dev.port != 8080 || dev.dataDir != "./data" {
		t.Fatalf("dev defaults = %+v, %v", dev, err)
	}
	if dev.backupDir != filepath.Join("data", "backups") || dev.backupSchedule != "daily" || dev.backupKeep != 7 || dev.backupQuotaBytes != 10<<30 {
		t.Fatalf("backup defaults = %q %q %d %d", dev.backupDir, dev.backupSchedule, dev.backupKeep, dev.backupQuotaBytes)
	}
	backups, err := parseSettings(true, nil, env("BACKPACK_BACKUP_DIR", "/srv/backups", "BACKPACK_BACKUP_SCHEDULE", "hourly",
		"BACKPACK_BACKUP_KEEP", "3", "BACKPACK_BACKUP_QUOTA_BYTES", "0"))
	if err != nil || backups.backupDir != "/srv/backups" || backups.backupSchedule != "hourly" || backups.backupKeep != 3 || backups.backupQuotaBytes != 0 {
		t.Fatalf("backup settings = %+v, %v", backups, err)
	}
	s, err := parseSettings(false, []string{"--port", "9000"}, env("DATABASE_URL", "postgres://x", "BACKPACK_DOMAIN", "example.com",
		"BACKPACK_SECRET_KEY", "k", "BACKPACK_REGISTRATION", "closed"))
	if err != nil || s.port != 9000 || s.publicScheme != "https" || s.registration != "closed" || s.domain != "example.com" {
		t.Fatalf("serve = %+v, %v", s, err)
	}
	for name, tc := range map[string]struct {
		dev  bool
		args []string
		env  func(string) string
		want string
	}{
		"serve without database":   {false, nil, env("BACKPACK_DOMAIN", "x.io", "BACKPACK_SECRET_KEY", "k"), "DATABASE_URL"},
		"serve without secret key": {false, nil, env("DATABASE_URL", "postgres://x", "BACKPACK_DOMAIN", "x.io"), "secret key"},
		"serve without domain":     {false, nil, env("DATABASE_URL", "postgres://x", "BACKPACK_SECRET_KEY", "k"), "BACKPACK_DOMAIN"},
		"unknown runtime":          {false, []string{"--runtime", "k8s"}, env("DATABASE_URL", "postgres://x", "BACKPACK_DOMAIN", "x.io", "BACKPACK_SECRET_KEY", "k"), "runtime"},
		"bad port":                 {true, []string{"--port", "70000"}, env(), "port"},
		"bad port in environment":  {true, nil, env("BACKPACK_PORT", "eighty"), "port"},
		"bad registration":         {true, []string{"--registration", "maybe"}, env(), "registration"},
		"stray argument":           {true, []string{"extra"}, env(), "unexpected"},
		"bad backup schedule":      {true, nil, env("BACKPACK_BACKUP_SCHEDULE", "weekly"), "BACKPACK_BACKUP_SCHEDULE"},
		"backup keep of 0":         {true, nil, env("BACKPACK_BACKUP_KEEP", "0"), "BACKPACK_BACKUP_KEEP"},
		"backup keep too large":    {true, []string{"--backup-keep", "1001"}, env(), "BACKPACK_BACKUP_KEEP"},
		"negative backup quota":    {true, nil, env("BACKPACK_BACKUP_QUOTA_BYTES", "-5"), "BACKPACK_BACKUP_QUOTA_BYTES"},
		"swarm with an IP domain":  {false, []string{"--runtime", "swarm"}, env("DATABASE_URL", "postgres://x", "BACKPACK_DOMAIN", "10.0.0.1", "BACKPACK_SECRET_KEY", "k"), "DNS name"},
		"swarm with a bad tls":     {false, []string{"--runtime", "swarm", "--tls", "yes"}, env("DATABASE_URL", "postgres://x", "BACKPACK_DOMAIN", "x.io", "BACKPACK_SECRET_KEY", "k"), "BACKPACK_TLS"},
	} {
		if _, err := parseSettings(tc.dev, tc.args, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

// TestSwarmSettings: the stack settings reach the swarm runtime, TLS follows the domain unless
// set.
func TestSwarmSettings(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "BACKPACK_SECRET_KEY": "k", "BACKPACK_RUNTIME": "swarm"}
	get := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	s, err := parseSettings(false, []string{"--api-image", "registry.example.com/api:2"}, get(map[string]string{"BACKPACK_DOMAIN": "example.com", "BACKPACK_WEB_MEMORY": "128M"}))
	if err != nil || s.runtime != "swarm" || !s.stack.TLS || s.stack.API.Image != "registry.example.com/api:2" || s.stack.Web.Memory != "128M" {
		t.Fatalf("swarm settings = %+v, %v", s.stack, err)
	}
	s, err = parseSettings(false, nil, get(map[string]string{"BACKPACK_DOMAIN": "localhost"}))
	if err != nil || s.stack.TLS {
		t.Fatalf("localhost: TLS %v, %v", s.stack.TLS, err)
	}
}

// TestTrustedProxiesAndThrottleSettings: behind a swarm's Traefik the control plane trusts
// backpack_public's subnet unless told otherwise; dev and the local runtime trust nobody by
// default; the login and sign-up limits come from flags or environment.
func TestTrustedProxiesAndThrottleSettings(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "BACKPACK_SECRET_KEY": "k", "BACKPACK_DOMAIN": "example.com"}
	get := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return base[k]
		}
	}
	dev, err := parseSettings(true, nil, get(map[string]string{"BACKPACK_TRUSTED_PROXIES": "10.0.0.0/8"}))
	if err != nil || len(dev.trustedProxies) != 0 {
		t.Fatalf("dev trusts %q, %v", dev.trustedProxies, err)
	}
	if dev.throttle.RegistrationsPerAddress != credentials.DefaultRegistrationsPerAddress || dev.throttle.LoginWindow != credentials.DefaultLoginWindow {
		t.Fatalf("dev limits = %+v", dev.throttle)
	}
	s, err := parseSettings(false, []string{"--runtime", "swarm"}, get(nil))
	if err != nil || strings.Join(s.trustedProxies, ",") != stacktemplates.PublicSubnet {
		t.Fatalf("swarm trusts %q, %v", s.trustedProxies, err)
	}
	s, err = parseSettings(false, []string{"--runtime", "swarm", "--trusted-proxies", "10.1.0.0/16, 10.2.0.0/16"}, get(nil))
	if err != nil || strings.Join(s.trustedProxies, ",") != "10.1.0.0/16,10.2.0.0/16" || len(s.stack.TrustedProxies) != 2 {
		t.Fatalf("swarm with proxies trusts %q (stack %q), %v", s.trustedProxies, s.stack.TrustedProxies, err)
	}
	s, err = parseSettings(false, []string{"--login-max-failures-per-account", "30"}, get(map[string]string{
		"BACKPACK_REGISTRATIONS_PER_ADDRESS": "4", "BACKPACK_REGISTRATION_WINDOW": "30m"}))
	if err != nil || len(s.trustedProxies) != 0 || s.throttle.LoginMaxFailuresPerAccount != 30 || s.throttle.RegistrationsPerAddress != 4 || s.throttle.RegistrationWindow != 30*time.Minute {
		t.Fatalf("local runtime: proxies %q, limits %+v, %v", s.trustedProxies, s.throttle, err)
	}
	for _, bad := range [][]string{{"--registrations-per-address", "0"}, {"--login-window", "0s"}, {"--login-max-failures-per-address", "x"}} {
		if _, err := parseSettings(true, bad, get(nil)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestDatabasePasswordFile: the password comes from the file into DATABASE_URL, and the
// ambiguous or broken cases are refused.
func TestDatabasePasswordFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("s3cr@t/pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := settings{databaseURL: "postgres://backpack@postgres:5432/backpack?sslmode=disable", databasePasswordFile: file}
	got, err := s.databaseURLWithPassword()
	if err != nil || got != "postgres://backpack:s3cr%40t%2Fpw@postgres:5432/backpack?sslmode=disable" {
		t.Fatalf("url = %q, %v", got, err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for name, tc := range map[string]settings{
		"password twice": {databaseURL: "postgres://u:p@h/db", databasePasswordFile: file},
		"no user":        {databaseURL: "postgres://h/db", databasePasswordFile: file},
		"not a URL":      {databaseURL: "host=h user=u", databasePasswordFile: file},
		"missing file":   {databaseURL: "postgres://u@h/db", databasePasswordFile: filepath.Join(dir, "nope")},
		"empty password": {databaseURL: "postgres://u@h/db", databasePasswordFile: empty},
	} {
		if _, err := tc.databaseURLWithPassword(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"deploy"}, func(string) string { return "" }, &out, &errOut); err == nil ||
		!strings.Contains(errOut.String(), "backpack dev") {
		t.Fatalf("err = %v, stderr = %q", err, errOut.String())
	}
	if err := run(context.Background(), nil, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Fatal("no command was accepted")
	}
}

var portLine = regexp.MustCompile(`admin API:\s+http://admin\.localhost:(\d+)/api`)

// startDev runs `backpack dev` in-process on dir until the returned stop is called, which
// cancels its context the way SIGTERM does and returns run's error.
func startDev(t *testing.T, dir string) (port string, stop func() error) {
	t.Helper()
	d := startDevWith(t, dir)
	return d.port, func() error {
		d.signal()
		return d.wait()
	}
}

// devRun is a `backpack dev` running in-process: signal does what SIGTERM does, wait returns
// run's error once it is done.
type devRun struct {
	port   string
	signal context.CancelFunc
	done   chan error
	t      *testing.T
}

func (d devRun) wait() error {
	select {
	case err := <-d.done:
		return err
	case <-time.After(30 * time.Second):
		d.t.Fatal("backpack dev did not stop within 30 s of its shutdown signal")
		return nil
	}
}

// startDevWith runs `backpack dev` in-process on dir, with extra flags, until its signal.
func startDevWith(t *testing.T, dir string, extra ...string) devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"dev", "--data-dir", dir, "--port", "0"}, extra...), func(string) string { return "" }, out, io.Discard)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := portLine.FindStringSubmatch(out.String()); m != nil {
			return devRun{port: m[1], signal: cancel, done: done, t: t}
		}
		select {
		case err := <-done:
			t.Fatalf("backpack dev exited: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("backpack dev printed no URL:\n%s", out.String())
	return devRun{}
}

// TestDevRestartKeepsBackends runs `backpack dev` as a user would, stops it as SIGTERM does,
// starts it again on the same data directory and finds the backend and its data back.
func TestDevRestartKeepsBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	port, stop := startDev(t, dir)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
		}}}
	call := func(method, host, path, apiKey string, body any, want int) map[string]any {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+host+".localhost:"+port+path, r)
		req.Header.Set("Content-Type", "application/json")
		if apiKey != "" {
			req.Header.Set("X-API-Key", apiKey)
		}
		u, _ := url.Parse("http://admin.localhost/")
		for _, c := range jar.Cookies(u) {
			if c.Name == "bkpk_csrf" {
				req.Header.Set("X-CSRF-Token", c.Value)
			}
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode != want {
			t.Fatalf("%s %s%s = %d %v, want %d", method, host, path, res.StatusCode, out, want)
		}
		return out
	}
	waitRunning := func() string {
		t.Helper()
		for range 400 {
			b := call(http.MethodGet, "admin", "/api/backends/shop", "", nil, http.StatusOK)
			if b["state"] == "running" {
				return b["apiKey"].(string)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("the backend never ran")
		return ""
	}
	call(http.MethodPost, "admin", "/api/auth/register", "", map[string]any{"email": "op@example.com", "password": "a long password"}, http.StatusCreated)
	call(http.MethodPost, "admin", "/api/backends", "", map[string]any{"name": "shop"}, http.StatusAccepted)
	key := waitRunning()
	call(http.MethodPost, "shop-be", "/auth/register", key, map[string]any{"email": "ann@example.com", "password": "password123"}, http.StatusCreated)
	if err := stop(); err != nil {
		t.Fatalf("backpack dev stopped with %v", err)
	}

	port, stop = startDev(t, dir)
	defer func() { _ = stop() }()
	call(http.MethodPost, "admin", "/api/auth/login", "", map[string]any{"email": "op@example.com", "password": "a long password"}, http.StatusOK)
	if got := waitRunning(); got != key {
		t.Fatalf("API key after restart = %q, want %q", got, key)
	}
	for range 200 {
		req, _ := http.NewRequest(http.MethodGet, "http://shop-be.localhost:"+port+"/readyz", nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	call(http.MethodPost, "shop-be", "/auth/login", key, map[string]any{"email": "ann@example.com", "password": "password123"}, http.StatusOK)
}
