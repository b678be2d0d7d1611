package main

import (
	"errors"
	"flag"
	"time"

	"github.com/backpackhq/backpack/coreapi"
	"github.com/backpackhq/backpack/internal/flagenv"
	"github.com/backpackhq/backpack/tools/docstore"
)

// limitSettings are the limits that keep one client from taking a backend's CPU, database or
// other users' websockets for itself (see coreapi.Config for what each one bounds).
type limitSettings struct {
	queryTimeout            time.Duration
	maxDocumentKeys         int
	maxDocumentNodes        int
	wsRelayMaxBytes         int64
	wsRelaysPerSecond       float64
	wsRelayBurst            int
	wsMaxConnectionsPerUser int
	maxConcurrentScans      int
	functionWorkers         int
	functionMemoryMB        int
}

// register adds the limits' flags, whose defaults come from the environment, else coreapi's.
// A value the environment spells wrong becomes -1, which validate refuses.
func (l *limitSettings) register(fs *flag.FlagSet, env flagenv.Env) {
	fs.DurationVar(&l.queryTimeout, "query-timeout", env.Duration("BACKPACK_QUERY_TIMEOUT", coreapi.DefaultQueryTimeout),
		"longest database work of one request or websocket message; beyond it 503 query_timeout (BACKPACK_QUERY_TIMEOUT)")
	fs.IntVar(&l.maxDocumentKeys, "max-document-keys", env.Int("BACKPACK_MAX_DOCUMENT_KEYS", coreapi.DefaultMaxDocumentKeys),
		"most keys of any one object in a stored document (BACKPACK_MAX_DOCUMENT_KEYS)")
	fs.IntVar(&l.maxDocumentNodes, "max-document-nodes", env.Int("BACKPACK_MAX_DOCUMENT_NODES", coreapi.DefaultMaxDocumentNodes),
		"most values (members and array elements, at any depth) in a stored document (BACKPACK_MAX_DOCUMENT_NODES)")
	fs.Int64Var(&l.wsRelayMaxBytes, "ws-relay-max-bytes", int64(env.Int("BACKPACK_WS_RELAY_MAX_BYTES", coreapi.DefaultWSRelayMaxBytes)),
		"largest websocket message relayed to other connections (BACKPACK_WS_RELAY_MAX_BYTES)")
	fs.Float64Var(&l.wsRelaysPerSecond, "ws-relays-per-second", env.Float("BACKPACK_WS_RELAYS_PER_SECOND", coreapi.DefaultWSRelaysPerSecond),
		"messages one websocket connection may relay a second, on average (BACKPACK_WS_RELAYS_PER_SECOND)")
	fs.IntVar(&l.wsRelayBurst, "ws-relay-burst", env.Int("BACKPACK_WS_RELAY_BURST", coreapi.DefaultWSRelayBurst),
		"messages one websocket connection may relay at once (BACKPACK_WS_RELAY_BURST)")
	fs.IntVar(&l.wsMaxConnectionsPerUser, "ws-max-connections-per-user", env.Int("BACKPACK_WS_MAX_CONNECTIONS_PER_USER", coreapi.DefaultWSMaxConnectionsPerUser),
		"open websockets one end user may have on one API replica (BACKPACK_WS_MAX_CONNECTIONS_PER_USER)")
	fs.IntVar(&l.maxConcurrentScans, "max-concurrent-scans", env.Int("BACKPACK_MAX_CONCURRENT_SCANS", docstore.DefaultMaxConcurrentScans),
		"sqlite engine: queries no index serves (they read a whole collection) that may run at once; others wait until the query timeout (BACKPACK_MAX_CONCURRENT_SCANS)")
	fs.IntVar(&l.functionWorkers, "function-workers", env.Int("BACKPACK_FUNCTION_WORKERS", 0),
		"worker processes running functions at once; 0 is twice the CPUs, at least 2 (BACKPACK_FUNCTION_WORKERS)")
	fs.IntVar(&l.functionMemoryMB, "function-memory-mb", env.Int("BACKPACK_FUNCTION_MEMORY_MB", coreapi.DefaultFunctionMemoryMB),
		"JavaScript heap one function worker may use, in MiB; an invocation going over gets 500 function_out_of_memory (BACKPACK_FUNCTION_MEMORY_MB)")
}

// validate refuses limits that are not positive: each must leave the API usable.
func (l limitSettings) validate() error {
	if l.queryTimeout <= 0 || l.maxDocumentKeys <= 0 || l.maxDocumentNodes <= 0 || l.wsRelayMaxBytes <= 0 ||
		l.wsRelaysPerSecond <= 0 || l.wsRelayBurst <= 0 || l.wsMaxConnectionsPerUser <= 0 || l.maxConcurrentScans <= 0 {
		return errors.New("the query timeout, document limits, websocket relay and connection limits and concurrent scans must be positive " +
			"(BACKPACK_QUERY_TIMEOUT, BACKPACK_MAX_DOCUMENT_*, BACKPACK_WS_RELAY*, BACKPACK_WS_MAX_CONNECTIONS_PER_USER, BACKPACK_MAX_CONCURRENT_SCANS)")
	}
	if l.functionWorkers < 0 || l.functionMemoryMB < 16 {
		return errors.New("function workers must not be negative and their memory must be at least 16 MiB (BACKPACK_FUNCTION_WORKERS, BACKPACK_FUNCTION_MEMORY_MB)")
	}
	return nil
}

// storeLimits are the limits of every database call, whichever the engine.
func (l limitSettings) storeLimits() docstore.Limits {
	return docstore.Limits{CallTimeout: l.queryTimeout, MaxConcurrentScans: l.maxConcurrentScans}
}

// apply copies the limits into the API's configuration.
func (l limitSettings) apply(cfg *coreapi.Config) {
	cfg.QueryTimeout = l.queryTimeout
	cfg.MaxDocumentKeys = l.maxDocumentKeys
	cfg.MaxDocumentNodes = l.maxDocumentNodes
	cfg.WSRelayMaxBytes = l.wsRelayMaxBytes
	cfg.WSRelaysPerSecond = l.wsRelaysPerSecond
	cfg.WSRelayBurst = l.wsRelayBurst
	cfg.WSMaxConnectionsPerUser = l.wsMaxConnectionsPerUser
	cfg.FunctionWorkers = l.functionWorkers
	cfg.FunctionMemoryBytes = int64(l.functionMemoryMB) << 20
}
