package main

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/backpackhq/backpack/tools/credentials"
	"github.com/backpackhq/backpack/tools/docstore"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettingsRequireServersWithoutEmbedded(t *testing.T) {
	full := map[string]string{"MONGO_URL": "mongodb://db:27017/app", "REDIS_URL": "redis://r:6379/0",
		"BACKPACK_API_KEY_FILE": "/run/secrets/api_key", "BACKPACK_ADMIN_TOKEN_FILE": "/run/secrets/admin_token"}
	if _, err := parseSettings(nil, envOf(full)); err != nil {
		t.Fatalf("complete environment refused: %v", err)
	}
	for missing, mention := range map[string]string{
		"MONGO_URL": "MONGO_URL", "REDIS_URL": "REDIS_URL",
		"BACKPACK_API_KEY_FILE": "BACKPACK_API_KEY_FILE", "BACKPACK_ADMIN_TOKEN_FILE": "BACKPACK_ADMIN_TOKEN_FILE",
	} {
		env := map[string]string{}
		for k, v := range full {
			if k != missing {
				env[k] = v
			}
		}
		_, err := parseSettings(nil, envOf(env))
		if err == nil || !strings.Contains(err.Error(), mention) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	if _, err := parseSettings(nil, envOf(nil)); err == nil || !strings.Contains(err.Error(), "--embedded") {
		t.Errorf("empty environment should point at --embedded: %v", err)
	}
	s, err := parseSettings([]string{"--embedded", "--data-dir", "/tmp/x"}, envOf(nil))
	if err != nil || s.filesDir != "/tmp/x/files" || s.port != 3000 || s.adminPort != 3001 || s.maxUpload != 25<<20 ||
		s.quotas != coreapi.DefaultQuotas() || s.engine != docstore.EngineSQLite {
		t.Fatalf("embedded defaults = %+v, %v", s, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--embedded", "--mongo-url", "mongodb://db/app"}, nil, docstore.EngineMongo},
		{[]string{"--embedded", "--engine", "mongo"}, map[string]string{"MONGO_URL": "mongodb://db/app"}, docstore.EngineMongo},
		{nil, full, docstore.EngineMongo},
		{nil, mergeEnv(full, map[string]string{"BACKPACK_DB_ENGINE": "sqlite"}), docstore.EngineSQLite},
	} {
		s, err := parseSettings(tc.args, envOf(tc.env))
		if err != nil || s.engine != tc.want {
			t.Errorf("%v %v: engine %q, %v; want %q", tc.args, tc.env, s.engine, err, tc.want)
		}
	}
}

// mergeEnv is a copy of base with the entries of over set.
func mergeEnv(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}

func TestSettingsRejectBadValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--embedded", "--port", "-1"}, nil, "port"},
		{[]string{"--embedded", "--port", "70000"}, nil, "port"},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_PORT": "x"}, "port"},
		{[]string{"--embedded", "--port", "4000", "--admin-port", "4000"}, nil, "differ"},
		{[]string{"--embedded", "--max-upload-bytes", "0"}, nil, "upload"},
		{[]string{"--embedded", "--quota-collections", "-1"}, nil, "quota"},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_QUOTA_FILE_BYTES": "1GiB"}, "quota"},
		{[]string{"--embedded", "stray"}, nil, "unexpected"},
		{[]string{"--embedded", "--engine", "postgres"}, nil, "BACKPACK_DB_ENGINE"},
		{[]string{"--embedded", "--engine", "mongo"}, nil, "MONGO_URL"},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_MAX_CONCURRENT_SCANS": "0"}, "BACKPACK_MAX_CONCURRENT_SCANS"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"--embedded", "--trusted-proxies", "10.0.0.0/8,traefik"}, nil, "traefik"},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_REGISTRATIONS_PER_ADDRESS": "0"}, "limits"},
		{[]string{"--embedded", "--login-max-failures-per-account", "-3"}, nil, "limits"},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_LOGIN_WINDOW": "15"}, "WINDOW"},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_DRAIN": "8"}, "BACKPACK_DRAIN"},
		{[]string{"--embedded", "--drain", "-1s"}, nil, "BACKPACK_DRAIN"},
	} {
		_, err := parseSettings(tc.args, envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want an error about %q", tc.args, tc.env, err, tc.want)
		}
	}
	s, err := parseSettings([]string{"--embedded"}, envOf(map[string]string{"BACKPACK_CORS_ORIGINS": " https://a.example , https://b.example,", "BACKPACK_PORT": "8000"}))
	if err != nil || s.port != 8000 {
		t.Fatal(err)
	}
	if got := flagenv.SplitList(s.corsOrigins); len(got) != 2 || got[1] != "https://b.example" {
		t.Fatalf("origins = %q", got)
	}
	s, err = parseSettings([]string{"--embedded", "--quota-collections", "0"}, envOf(map[string]string{"BACKPACK_QUOTA_USER_FILE_BYTES": "5"}))
	if err != nil || s.quotas != (coreapi.Quotas{Collections: 0, FileBytes: coreapi.DefaultQuotaFileBytes, UserFileBytes: 5}) {
		t.Fatalf("quotas = %+v, %v", s.quotas, err)
	}
}

func TestDatabaseName(t *testing.T) {
	for url, want := range map[string]string{"mongodb://h:27017/": "backpack", "mongodb://h:27017/shop": "shop", "mongodb://h/shop?x=y": "shop"} {
		if got, err := databaseName(url, ""); err != nil || got != want {
			t.Errorf("databaseName(%q) = %q, %v", url, got, err)
		}
	}
	if got, _ := databaseName("mongodb://h/shop", "other"); got != "other" {
		t.Errorf("override ignored: %q", got)
	}
	if _, err := databaseName("http://nope", ""); err == nil {
		t.Error("bad URL accepted")
	}
}

// TestThrottleSettings: the login and sign-up limits and the trusted proxies come from the
// environment or flags, with the coreapi defaults; nobody is trusted unless configured.
func TestThrottleSettings(t *testing.T) {
	s, err := parseSettings([]string{"--embedded"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := credentials.Limits{}.WithDefaults()
	if s.throttle != want || s.trustedProxies != "" {
		t.Fatalf("defaults = %+v, proxies %q", s.throttle, s.trustedProxies)
	}
	s, err = parseSettings([]string{"--embedded", "--login-max-failures-per-account", "40"}, envOf(map[string]string{
		"BACKPACK_TRUSTED_PROXIES": "10.213.0.0/16", "BACKPACK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS": "3",
		"BACKPACK_LOGIN_MAX_FAILURES_PER_ADDRESS": "30", "BACKPACK_LOGIN_WINDOW": "5m",
		"BACKPACK_REGISTRATIONS_PER_ADDRESS": "7", "BACKPACK_REGISTRATION_WINDOW": "24h",
	}))
	want = credentials.Limits{LoginMaxFailuresPerAccountAddress: 3, LoginMaxFailuresPerAccount: 40, LoginMaxFailuresPerAddress: 30,
		LoginWindow: 5 * time.Minute, RegistrationsPerAddress: 7, RegistrationWindow: 24 * time.Hour}
	if err != nil || s.throttle != want || s.trustedProxies != "10.213.0.0/16" {
		t.Fatalf("configured = %+v, proxies %q, %v", s.throttle, s.trustedProxies, err)
	}
}

// TestDrainSettings: a server in a stack drains for flagenv.DefaultDrain on SIGTERM; the
// embedded one, with no load balancer in front, does not, unless told to.
func TestDrainSettings(t *testing.T) {
	full := map[string]string{"MONGO_URL": "mongodb://db:27017/app", "REDIS_URL": "redis://r:6379/0",
		"BACKPACK_API_KEY_FILE": "/run/secrets/api_key", "BACKPACK_ADMIN_TOKEN_FILE": "/run/secrets/admin_token"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, full, flagenv.DefaultDrain},
		{nil, mergeEnv(full, map[string]string{"BACKPACK_DRAIN": "15s"}), 15 * time.Second},
		{[]string{"--drain", "0"}, full, 0},
		{[]string{"--embedded"}, nil, 0},
		{[]string{"--embedded", "--drain", "3s"}, nil, 3 * time.Second},
		{[]string{"--embedded"}, map[string]string{"BACKPACK_DRAIN": "2s"}, 2 * time.Second},
	} {
		s, err := parseSettings(tc.args, envOf(tc.env))
		if err != nil || s.drain != tc.want {
			t.Errorf("%v %v: drain %s, %v; want %s", tc.args, tc.env, s.drain, err, tc.want)
		}
	}
}
