package main

import (
	"strings"
	"testing"
	"time"

	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/tools/docstore"
)

func TestLimitSettings(t *testing.T) {
	s, err := parseSettings([]string{"--embedded"}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := limitSettings{coreapi.DefaultQueryTimeout, coreapi.DefaultMaxDocumentKeys, coreapi.DefaultMaxDocumentNodes,
		coreapi.DefaultWSRelayMaxBytes, coreapi.DefaultWSRelaysPerSecond, coreapi.DefaultWSRelayBurst, coreapi.DefaultWSMaxConnectionsPerUser,
		docstore.DefaultMaxConcurrentScans, 0, coreapi.DefaultFunctionMemoryMB}
	if s.limits != want {
		t.Fatalf("defaults = %+v, want %+v", s.limits, want)
	}

	s, err = parseSettings([]string{"--embedded", "--max-document-keys", "50", "--ws-relays-per-second", "0.5"}, envOf(map[string]string{
		"BACKPACK_QUERY_TIMEOUT": "2s", "BACKPACK_MAX_DOCUMENT_KEYS": "70", "BACKPACK_MAX_DOCUMENT_NODES": "500",
		"BACKPACK_WS_RELAY_MAX_BYTES": "4096", "BACKPACK_WS_RELAY_BURST": "3", "BACKPACK_WS_MAX_CONNECTIONS_PER_USER": "4",
		"BACKPACK_MAX_CONCURRENT_SCANS": "2", "BACKPACK_FUNCTION_WORKERS": "3", "BACKPACK_FUNCTION_MEMORY_MB": "64",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want = limitSettings{2 * time.Second, 50, 500, 4096, 0.5, 3, 4, 2, 3, 64}
	if s.limits != want {
		t.Fatalf("limits = %+v, want %+v (flags win over the environment)", s.limits, want)
	}
	var cfg coreapi.Config
	s.limits.apply(&cfg)
	if cfg.QueryTimeout != 2*time.Second || cfg.MaxDocumentKeys != 50 || cfg.WSMaxConnectionsPerUser != 4 || cfg.WSRelaysPerSecond != 0.5 ||
		cfg.FunctionWorkers != 3 || cfg.FunctionMemoryBytes != 64<<20 {
		t.Fatalf("config = %+v", cfg)
	}
	if l := s.limits.storeLimits(); l.CallTimeout != 2*time.Second || l.MaxConcurrentScans != 2 {
		t.Fatalf("store limits = %+v, want the query timeout and 2 scans", l)
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--query-timeout", "0s"}, nil},
		{nil, map[string]string{"BACKPACK_QUERY_TIMEOUT": "10"}},
		{[]string{"--max-document-keys", "0"}, nil},
		{nil, map[string]string{"BACKPACK_MAX_DOCUMENT_NODES": "many"}},
		{[]string{"--ws-relay-max-bytes", "-1"}, nil},
		{nil, map[string]string{"BACKPACK_WS_RELAYS_PER_SECOND": "fast"}},
		{[]string{"--ws-relay-burst", "0"}, nil},
		{[]string{"--ws-max-connections-per-user", "0"}, nil},
	} {
		_, err := parseSettings(append([]string{"--embedded"}, tc.args...), envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("%v %v: %v, want a refusal", tc.args, tc.env, err)
		}
	}
	for _, tc := range [][]string{{"--function-workers", "-1"}, {"--function-memory-mb", "8"}} {
		if _, err := parseSettings(append([]string{"--embedded"}, tc...), envOf(nil)); err == nil || !strings.Contains(err.Error(), "BACKPACK_FUNCTION_") {
			t.Errorf("%v: %v, want a refusal", tc, err)
		}
	}
}
