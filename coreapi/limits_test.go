package coreapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/httpapi"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// wideJSON is an object with n members {"k0":0,"k1":0,…}.
func wideJSON(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"k` + strconv.Itoa(i) + `":0`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// arrayJSON is {"a":[0,0,…]} with n elements, so n+1 values.
func arrayJSON(n int) string {
	return `{"a":[` + strings.TrimSuffix(strings.Repeat("0,", n), ",") + `]}`
}

// expectTooComplex checks an HTTP answer is 400 document_too_complex naming the limit.
func expectTooComplex(t *testing.T, r *response, limit string, max int) {
	t.Helper()
	var e httpapi.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	if r.status != http.StatusBadRequest || e.Error.Code != "document_too_complex" || e.Error.Message == "" ||
		e.Error.Details["limit"] != limit || e.Error.Details["max"] != float64(max) {
		t.Fatalf("got %d %s, want 400 document_too_complex with limit %s, max %d", r.status, r.short(), limit, max)
	}
}

// short is the start of a response body, for failure messages about large ones.
func (r *response) short() string {
	if len(r.body) > 300 {
		return string(r.body[:300]) + "…"
	}
	return string(r.body)
}

// expectWSTooComplex checks a websocket reply is the document_too_complex error naming the limit.
func expectWSTooComplex(t *testing.T, reply map[string]any, limit string) {
	t.Helper()
	e, _ := reply["error"].(map[string]any)
	details, _ := e["details"].(map[string]any)
	if reply["action"] != "error" || e["code"] != "document_too_complex" || details["limit"] != limit {
		t.Fatalf("got %v, want error document_too_complex with limit %s", reply, limit)
	}
}

func TestDocumentComplexityLimits(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	adm := api.adminClient()
	w := c.dialWS()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "wide"}))
	id := c.mustStatus(http.StatusCreated, c.post("/wide", `{"v":1}`)).doc()["_id"].(string)

	for _, tc := range []struct {
		body, limit string
		max         int
	}{
		{wideJSON(DefaultMaxDocumentKeys + 1), "keysPerObject", DefaultMaxDocumentKeys},
		{`{"o":` + wideJSON(DefaultMaxDocumentKeys+1) + `}`, "keysPerObject", DefaultMaxDocumentKeys}, // nested
		{arrayJSON(DefaultMaxDocumentNodes), "nodes", DefaultMaxDocumentNodes},
	} {
		expectTooComplex(t, c.post("/wide", tc.body), tc.limit, tc.max)
		expectTooComplex(t, c.put("/wide/"+id, tc.body), tc.limit, tc.max)
		expectTooComplex(t, c.patch("/wide/"+id, tc.body), tc.limit, tc.max)
		data := json.RawMessage(tc.body)
		expectTooComplex(t, adm.post("/admin/collections/wide/docs", data), tc.limit, tc.max)
		expectTooComplex(t, adm.put("/admin/collections/wide/docs/"+id, data), tc.limit, tc.max)
		expectTooComplex(t, adm.patch("/admin/collections/wide/docs/"+id, data), tc.limit, tc.max)
		expectWSTooComplex(t, w.call("create", map[string]any{"collection": "wide", "data": data}), tc.limit)
		expectWSTooComplex(t, w.call("update", map[string]any{"collection": "wide", "id": id, "data": data}), tc.limit)
		expectWSTooComplex(t, w.call("patch", map[string]any{"collection": "wide", "id": id, "data": data}), tc.limit)
	}
	// Nothing was stored or changed.
	r := c.mustStatus(http.StatusOK, c.get("/wide?count=true"))
	if r.header.Get("X-Total-Count") != "1" {
		t.Fatalf("documents stored: %s", r.body)
	}
	if d := c.mustStatus(http.StatusOK, c.get("/wide/"+id)).doc(); d["v"] != float64(1) || len(d) != 5 {
		t.Fatalf("document changed: %v", d)
	}

	// Documents at the limits are accepted on every path.
	c.mustStatus(http.StatusCreated, c.post("/wide", wideJSON(DefaultMaxDocumentKeys)))
	c.mustStatus(http.StatusCreated, c.post("/wide", arrayJSON(DefaultMaxDocumentNodes-1)))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections/wide/docs", json.RawMessage(arrayJSON(DefaultMaxDocumentNodes-1))))
	w.ok("create", map[string]any{"collection": "wide", "data": json.RawMessage(arrayJSON(DefaultMaxDocumentNodes - 1))})
	w.ok("update", map[string]any{"collection": "wide", "id": id, "data": json.RawMessage(wideJSON(DefaultMaxDocumentKeys))})
}

func TestDocumentComplexitySettings(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.MaxDocumentKeys = 3; c.MaxDocumentNodes = 5 })
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "small"}))
	c.mustStatus(http.StatusCreated, c.post("/small", `{"a":1,"b":[1,2],"c":null}`))
	expectTooComplex(t, c.post("/small", `{"a":1,"b":2,"c":3,"d":4}`), "keysPerObject", 3)
	expectTooComplex(t, c.post("/small", `{"a":1,"b":[1,2,3,4]}`), "nodes", 5)
	w := c.dialWS()
	expectWSTooComplex(t, w.call("create", map[string]any{"collection": "small", "data": map[string]any{"a": []int{1, 2, 3, 4, 5}}}), "nodes")
}

// seedWideDocument stores a document with this many keys directly, bypassing the API's
// limits, as a document written before they existed would be.
func seedWideDocument(t *testing.T, api *testAPI, collection string, keys int) {
	t.Helper()
	d := make(bson.D, keys, keys+1)
	for i := range d {
		d[i] = bson.E{Key: "k" + strconv.Itoa(i), Value: int32(0)}
	}
	d = append(bson.D{{Key: "_id", Value: bson.NewObjectID()}}, d...)
	if err := api.store.Collection(collection).Insert(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// seedManyDocuments stores this many small documents directly, from several writers at once.
func seedManyDocuments(t *testing.T, api *testAPI, collection string, n int) {
	t.Helper()
	coll := api.store.Collection(collection)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				d := bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "n", Value: int32(i)}, {Key: "s", Value: "value " + strconv.Itoa(i) + " of many"}}
				if err := coll.Insert(context.Background(), d); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func TestQueryTimeout(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "slow"}))
	small := c.mustStatus(http.StatusCreated, c.post("/slow", `{"v":1}`)).doc()["_id"].(string)
	cfg := api.cfg
	slowQuery := "/slow"
	if teststore.Engine() == docstore.EngineMongo {
		// The FerretDB stand-in decodes wide documents slowly: reading this one back takes it
		// several seconds, beyond the deadline below.
		seedWideDocument(t, api, "slow", 25000)
		cfg.QueryTimeout = time.Second
	} else {
		// SQLite reads wide documents quickly; a regular expression over every value of a
		// large collection, sorted on an unindexed field, takes it hundreds of milliseconds:
		// many times the deadline below.
		seedManyDocuments(t, api, "slow", 100_000)
		cfg.QueryTimeout = 20 * time.Millisecond
		slowQuery = "/slow?sort=-n&filter=" + url.QueryEscape(`{"s":{"$regex":"(x|y)+z$"}}`)
	}
	fast := api.replicaWith(cfg)
	fc := c.on(fast)
	r := fc.get(slowQuery)
	if r.status != http.StatusServiceUnavailable || r.errorCode() != "query_timeout" || r.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %s (Retry-After %q), want 503 query_timeout", r.status, r.short(), r.header.Get("Retry-After"))
	}
	w := fc.dialWS()
	action, params := "getAll", map[string]any{"collection": "slow"}
	if teststore.Engine() != docstore.EngineMongo {
		action = "find"
		params["query"] = map[string]any{"s": map[string]any{"$regex": "(x|y)+z$"}}
		params["sort"] = "-n"
	}
	if r := w.call(action, params); r["action"] != "error" || r["error"].(map[string]any)["code"] != "query_timeout" {
		t.Fatalf("websocket %s answered %v, want error query_timeout", action, r["action"])
	}
	// The replica answers what is quick again, on HTTP and on the same websocket, once the
	// database has finished the document it was decoding when the query was cancelled.
	deadline := time.Now().Add(30 * time.Second)
	for fc.get("/collections").status != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the replica still fails quick requests 30 s after the timeouts")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if d := fc.mustStatus(http.StatusOK, fc.get("/slow/"+small)).doc(); d["v"] != float64(1) {
		t.Fatalf("small document = %v", d)
	}
	w.ok("getOne", map[string]any{"collection": "slow", "id": small})
}

func TestWSRelayLimits(t *testing.T) {
	api := newTestAPI(t, func(c *Config) {
		c.WSRelayMaxBytes = 1024
		c.WSRelaysPerSecond = 0.01 // one more every 100 s: the burst is all the test may use
		c.WSRelayBurst = 5
		c.WSMaxConnectionsPerUser = 3
	})
	ann, _ := api.signedIn()
	bob, _ := api.signedIn()
	carl, _ := api.signedIn()
	wa, wb, wc := ann.dialWS(), bob.dialWS(), carl.dialWS()

	// Too large to relay: an error reply, nothing relayed, the connection stays.
	wa.fails("typing", map[string]any{"pad": strings.Repeat("a", 2000)}, "message_too_large")
	wa.ok("typing", map[string]any{"n": "first"})
	wb.expect(func(m map[string]any) bool { return m["action"] == "typing" && m["n"] == "first" })
	if _, ok := wb.takeFromBacklog(func(m map[string]any) bool { return m["pad"] != nil }); ok {
		t.Fatal("the oversized message was relayed")
	}

	// Beyond the rate: error replies; the sender's connection and everyone else's stay.
	relayed, limited := 0, 0
	for i := range 20 {
		r := wa.call("typing", map[string]any{"n": i})
		switch e, _ := r["error"].(map[string]any); {
		case r["action"] == "typing":
			relayed++
		case e["code"] == "rate_limited":
			limited++
		default:
			t.Fatalf("relay %d: %v", i, r)
		}
	}
	if limited == 0 || relayed > 5 {
		t.Fatalf("%d relayed, %d limited", relayed, limited)
	}
	wa.fails("getAll", map[string]any{"collection": "none"}, "collection_not_found")
	wc.ok("typing", map[string]any{"n": "carl"})
	wb.expect(func(m map[string]any) bool { return m["action"] == "typing" && m["n"] == "carl" })

	// Connections per user: the fourth handshake is refused in the contract's shape.
	ann.dialWS()
	extra := ann.dialWS()
	_, res, err := ann.tryDialWS(api.url, http.Header{})
	if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth connection: %v %v", err, res)
	}
	var body httpapi.ErrorBody
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Error.Code != "too_many_connections" {
		t.Fatalf("refusal body: %v %+v", err, body)
	}
	bob.dialWS() // other users are not affected
	_ = extra.conn.Close()
	waitFor(t, func() bool {
		w, _, err := ann.tryDialWS(api.url, http.Header{})
		if err == nil {
			_ = w.conn.Close()
		}
		return err == nil
	})
}
