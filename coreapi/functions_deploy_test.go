package coreapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deployLiveVersion deploys version v of the two functions the deploy test loads: "live"
// answers {version: v}; "stamp" stamps v into every post before it is stored and, after, writes
// an audit document naming the post.
func deployLiveVersion(admin *adminClient, v int) {
	admin.api.t.Helper()
	admin.deploy("live", fmt.Sprintf(`function onRequest() { return {version: %d}; }`, v), nil)
	admin.deploy("stamp", fmt.Sprintf(`
function beforeCreate(doc) { doc.version = %d; return doc; }
function afterCreate(doc, ctx) { ctx.admin.db.create("audit", {post: doc._id, version: %d}); }`, v, v),
		map[string]any{"collections": []string{"posts"}})
}

// totalDocs is the number of documents in a collection, as the admin port counts them.
func totalDocs(admin *adminClient, collection, filter string) int {
	admin.api.t.Helper()
	path := "/admin/collections/" + collection + "/docs?count=true&limit=1"
	if filter != "" {
		path += "&filter=" + filter
	}
	r := admin.mustStatus(http.StatusOK, admin.get(path))
	n, err := strconv.Atoi(r.header.Get("X-Total-Count"))
	if err != nil {
		admin.api.t.Fatalf("X-Total-Count %q: %v", r.header.Get("X-Total-Count"), err)
	}
	return n
}

// TestFunctionDeployUnderLoad deploys new versions of an onRequest and of a collection's hooks
// every 500 ms on one of two replicas while clients on both call the one and write through the
// others: no request may fail, every acknowledged write must be stored (with its after hook
// run), every answer must come from a deployed version, a client pinned to a replica never sees
// its versions go back, and 2 s after the last deploy (the contract's bound) both replicas run
// the last version.
func TestFunctionDeployUnderLoad(t *testing.T) {
	const (
		loaders   = 6
		redeploys = 10
		every     = 500 * time.Millisecond
	)
	api := newTestAPI(t)
	other := api.replica()
	replicas := []*testAPI{api, other}
	admin := api.adminClient()
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "posts"}))
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "audit"}))

	// deployed is the highest version whose deploy has started: no answer may name a later one.
	var deployed atomic.Int64
	deployed.Store(1)
	deployLiveVersion(admin, 1)
	clients := make([]*client, loaders)
	for i := range clients {
		user, _ := api.signedIn()
		clients[i] = user.on(replicas[i%len(replicas)])
		waitFor(t, func() bool { return clients[i].get("/fn/live").status == http.StatusOK })
	}

	var (
		acked    atomic.Int64
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	stop := make(chan struct{})
	finish := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer finish()
	for i, c := range clients {
		wg.Go(func() {
			// seen is the last version this client got from its replica, per kind of answer.
			var seen [2]int
			check := func(kind int, what string, v int) {
				if v < 1 || v > int(deployed.Load()) {
					fail("client %d: %s answered version %d, deployed 1..%d", i, what, v, deployed.Load())
				} else if v < seen[kind] {
					fail("client %d: %s answered version %d after %d on the same replica", i, what, v, seen[kind])
				}
				seen[kind] = max(seen[kind], v)
			}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var out struct{ Version int }
				r := c.get("/fn/live")
				if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil {
					fail("client %d: GET /fn/live: %d %s", i, r.status, strings.TrimSpace(string(r.body)))
				} else {
					check(0, "GET /fn/live", out.Version)
				}
				out.Version = 0
				r = c.post("/posts", map[string]any{"title": "post", "client": i, "n": n})
				if r.status != http.StatusCreated || json.Unmarshal(r.body, &out) != nil {
					fail("client %d: POST /posts: %d %s", i, r.status, strings.TrimSpace(string(r.body)))
					continue
				}
				acked.Add(1)
				check(1, "beforeCreate", out.Version)
			}
		})
	}

	var lastDeploy time.Time
	for v := 2; v <= redeploys+1; v++ {
		time.Sleep(every)
		deployed.Store(int64(v))
		deployLiveVersion(admin, v)
		lastDeploy = time.Now()
	}
	// The contract's promise: within 2 s of its PUT a new version serves every replica.
	time.Sleep(time.Until(lastDeploy.Add(2 * time.Second)))
	last := redeploys + 1
	for i, c := range clients[:len(replicas)] {
		var out struct{ Version int }
		c.mustStatus(http.StatusOK, c.get("/fn/live")).decode(&out)
		if out.Version != last {
			t.Errorf("replica %d answers version %d 2 s after version %d was deployed", i+1, out.Version, last)
		}
		out.Version = 0
		c.mustStatus(http.StatusCreated, c.post("/posts", map[string]any{"title": "final"})).decode(&out)
		acked.Add(1)
		if out.Version != last {
			t.Errorf("replica %d stamps version %d 2 s after version %d was deployed", i+1, out.Version, last)
		}
	}
	finish()

	const shown = 20
	for i, f := range failures {
		if i == shown {
			t.Errorf("… and %d more failed requests", len(failures)-shown)
			break
		}
		t.Error(f)
	}
	if acked.Load() < int64(loaders) {
		t.Fatalf("only %d writes acknowledged: the load did not run", acked.Load())
	}
	if n := totalDocs(admin, "posts", ""); n != int(acked.Load()) {
		t.Errorf("%d posts stored, %d acknowledged", n, acked.Load())
	}
	if n := totalDocs(admin, "posts", `{"version":{"$exists":false}}`); n != 0 {
		t.Errorf("%d posts stored without going through beforeCreate", n)
	}
	if n := totalDocs(admin, "audit", ""); n != int(acked.Load()) {
		t.Errorf("%d audit documents for %d posts: afterCreate did not run for every write", n, acked.Load())
	}
	t.Logf("%d writes and as many calls on 2 replicas across %d deploys", acked.Load(), redeploys)
}

// TestFunctionDeployKeepsInFlightVersion deploys v2 while an invocation of v1 is running: the
// next call answers v2 at once, and the call in flight still finishes on v1. v1 says when it
// has started (a document in "marks") and runs until the test releases it (another document),
// so the deploy lands while it is in flight whatever the machine's speed.
func TestFunctionDeployKeepsInFlightVersion(t *testing.T) {
	api := newTestAPI(t)
	admin := api.adminClient()
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections", map[string]string{"name": "marks"}))
	admin.deploy("slow", `
function onRequest(req, ctx) {
  ctx.admin.db.create("marks", {started: true});
  while (ctx.admin.db.find("marks", {release: true}).length === 0) {}
  return "v1";
}`, map[string]any{"timeoutMs": 30000})
	c := api.client()
	inFlight := make(chan *response, 1)
	go func() { inFlight <- c.get("/fn/slow") }()
	waitFor(t, func() bool { return totalDocs(admin, "marks", `{"started":true}`) == 1 })

	admin.deploy("slow", `function onRequest() { return "v2"; }`, nil)
	if r := c.mustStatus(http.StatusOK, c.get("/fn/slow")); strings.TrimSpace(string(r.body)) != `"v2"` {
		t.Errorf("the call after the deploy answered %s, want \"v2\"", r.body)
	}
	admin.mustStatus(http.StatusCreated, admin.post("/admin/collections/marks/docs", map[string]bool{"release": true}))
	select {
	case r := <-inFlight:
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `"v1"` {
			t.Errorf("the call in flight during the deploy answered %d %s, want \"v1\"", r.status, r.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the call in flight never finished")
	}
}
