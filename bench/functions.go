package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"
)

// The functions scenario measures what backend functions (CONTRACT §6) cost, on the same
// in-process API as the other load scenarios: a call to a trivial onRequest against a
// document read, a create through a beforeCreate hook against one without, and how long a
// deploy takes to be answered by every replica.
const (
	// fnPing is the trivial onRequest called through GET /fn/fnPing.
	fnPing       = "ping"
	fnPingSource = `function onRequest(){ return {ok:true}; }`
	// fnStamp is the beforeCreate hook on hookedCollection.
	fnStamp       = "stamp"
	fnStampSource = `function beforeCreate(doc){ doc.x = 1; return doc; }`
	// fnProbe is deployed deploySamples times, each version answering its own number.
	fnProbe          = "probe"
	hookedCollection = "hooked"
	// deployReplicas and deploySamples size the deploy measurement; deployPoll is how often
	// a replica is asked for the new version and deployWait how long it may take at most
	// before the measurement gives up (the contract's bound is 2 s).
	deployReplicas = 2
	deploySamples  = 10
	deployPoll     = 2 * time.Millisecond
	deployWait     = 30 * time.Second
	// functionsWarmUp is how long each workload runs unmeasured first, so that the function
	// workers, which start on the first calls, are running when the measurement starts.
	functionsWarmUp = 300 * time.Millisecond
	// deployContractBound is the contract's promise for a deploy to reach every replica.
	deployContractBound = 2 * time.Second
)

// functionsConfig is one functions run: api is the signed-in client of the first replica,
// admin its admin port's, replicas the public base URLs of deployReplicas replicas.
type functionsConfig struct {
	api      *apiClient
	admin    *apiClient
	replicas []string
	clients  int
	duration time.Duration
}

// functionsSummary is what the functions scenario measured; failed is set when its setup or
// the deploy measurement failed, and then the figures after it are missing.
type functionsSummary struct {
	clients  int
	duration time.Duration
	// docGet and fnGet: GET /items/ID against GET /fn/ping.
	docGet, fnGet summary
	// create and hooked: POST /hooked without a hook, then with fnStamp.
	create, hooked summary
	// deploys are the times from each PUT of fnProbe to its version answering on every
	// replica, sorted.
	deploys []time.Duration
	failed  error
}

// runFunctions runs the workloads one after the other, each for cfg.duration after a warm-up.
func runFunctions(ctx context.Context, cfg functionsConfig) functionsSummary {
	s := functionsSummary{clients: cfg.clients, duration: cfg.duration}
	measure := func(do step) summary {
		runLoad(ctx, cfg.clients, functionsWarmUp, do)
		return runLoad(ctx, cfg.clients, cfg.duration, do)
	}

	ids, err := itemIDs(ctx, cfg.api)
	if err != nil {
		s.failed = err
		return s
	}
	if err := deployFunction(ctx, cfg.admin, fnPing, fnPingSource, nil); err != nil {
		s.failed = err
		return s
	}
	if err := cfg.api.call(ctx, http.MethodPost, "/collections", map[string]string{"name": hookedCollection}, http.StatusCreated, nil); err != nil {
		s.failed = err
		return s
	}
	s.docGet = measure(getStep(cfg.api, func(i int) string { return "/" + itemsCollection + "/" + ids[i%len(ids)] }, nil))
	s.fnGet = measure(getStep(cfg.api, func(int) string { return "/fn/" + fnPing }, func(body []byte) error {
		var out struct{ OK bool }
		if err := json.Unmarshal(body, &out); err != nil || !out.OK {
			return fmt.Errorf("ping answered %s", body)
		}
		return nil
	}))
	s.create = measure(hookedCreateStep(cfg.api, 0))
	if err := deployFunction(ctx, cfg.admin, fnStamp, fnStampSource, []string{hookedCollection}); err != nil {
		s.failed = err
		return s
	}
	s.hooked = measure(hookedCreateStep(cfg.api, 1))

	s.deploys, s.failed = measureDeploys(ctx, cfg.admin, cfg.replicas, cfg.api)
	return s
}

// itemIDs reads the ids of a page of seeded items, which the document reads go round.
func itemIDs(ctx context.Context, api *apiClient) ([]string, error) {
	var page []struct {
		ID string `json:"_id"`
	}
	if err := api.call(ctx, http.MethodGet, fmt.Sprintf("/%s?limit=%d", itemsCollection, listLimit), nil, http.StatusOK, &page); err != nil {
		return nil, err
	}
	if len(page) == 0 {
		return nil, fmt.Errorf("no %s to read: the functions scenario needs -seed > 0", itemsCollection)
	}
	ids := make([]string, len(page))
	for i, d := range page {
		ids[i] = d.ID
	}
	return ids, nil
}

// deployFunction puts a function on the admin port and expects it accepted.
func deployFunction(ctx context.Context, admin *apiClient, name, source string, collections []string) error {
	body := map[string]any{"source": source}
	if collections != nil {
		body["collections"] = collections
	}
	return admin.call(ctx, http.MethodPut, "/admin/functions/"+name, body, http.StatusOK, nil)
}

// getStep GETs the path for the client's i-th request and expects 200 and, if check is not
// nil, a body check accepts.
func getStep(api *apiClient, path func(i int) string, check func(body []byte) error) step {
	return func(ctx context.Context, i int) error {
		resp, err := api.do(ctx, http.MethodGet, path(i), nil)
		if err != nil {
			return err
		}
		var body json.RawMessage
		if err := expect(resp, http.StatusOK, &body); err != nil {
			return err
		}
		if check != nil {
			return check(body)
		}
		return nil
	}
}

// hookedCreateStep posts a document to hookedCollection and expects 201 with x equal to
// wantX: 1 when the hook stamped it, 0 (absent) when no hook ran.
func hookedCreateStep(api *apiClient, wantX int) step {
	return func(ctx context.Context, i int) error {
		resp, err := api.do(ctx, http.MethodPost, "/"+hookedCollection, fmt.Appendf(nil, `{"title":"hello","n":%d}`, i))
		if err != nil {
			return err
		}
		var created struct{ X int }
		if err := expect(resp, http.StatusCreated, &created); err != nil {
			return err
		}
		if created.X != wantX {
			return fmt.Errorf("created with x=%d, want %d", created.X, wantX)
		}
		return nil
	}
}

// measureDeploys deploys deploySamples versions of fnProbe through admin, one at a time, and
// returns, sorted, how long each took from just before its PUT until every replica had
// answered it. Replicas are polled one after the other, so each time is when the last of
// them was first seen answering the new version (to within deployPoll and a request). Any
// answer but the previous or the new version (or 404 before the first) is an error: the
// contract says no request fails because of a deploy.
func measureDeploys(ctx context.Context, admin *apiClient, replicas []string, signedIn *apiClient) ([]time.Duration, error) {
	clients := make([]*apiClient, len(replicas))
	for i, url := range replicas {
		clients[i] = newAPIClient(url, signedIn.apiKey, 1)
		clients[i].token = signedIn.token
	}
	var times []time.Duration
	for v := 1; v <= deploySamples; v++ {
		start := time.Now()
		if err := deployFunction(ctx, admin, fnProbe, fmt.Sprintf("function onRequest(){ return {version: %d}; }", v), nil); err != nil {
			return nil, err
		}
		for r, c := range clients {
			if err := awaitVersion(ctx, c, v, start.Add(deployWait)); err != nil {
				return nil, fmt.Errorf("deploy %d, replica %d: %w", v, r+1, err)
			}
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times, nil
}

// awaitVersion polls GET /fn/probe until it answers version v.
func awaitVersion(ctx context.Context, c *apiClient, v int, deadline time.Time) error {
	for {
		resp, err := c.do(ctx, http.MethodGet, "/fn/"+fnProbe, nil)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var out struct{ Version int }
		switch {
		case resp.StatusCode == http.StatusNotFound && v == 1:
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("status %d while a deploy was being followed: %s", resp.StatusCode, body)
		case json.Unmarshal(body, &out) != nil || (out.Version != v && out.Version != v-1):
			return fmt.Errorf("answered %s, want version %d or %d", body, v-1, v)
		case out.Version == v:
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("version %d not answered within %s", v, deployWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(deployPoll):
		}
	}
}

// printFunctions writes the functions scenario's four workloads, each pair's ratio and the
// deploy times, each figure with a line saying what it is.
func printFunctions(w io.Writer, s functionsSummary) error {
	fmt.Fprintf(w, "functions (%d clients, %s per workload)\n", s.clients, s.duration)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\trequests\terrors\treq/s\tp50\tp99")
	rows := []struct {
		name string
		r    summary
	}{
		{"GET /" + itemsCollection + "/ID (a document)", s.docGet},
		{"GET /fn/" + fnPing + " (onRequest returning {ok:true})", s.fnGet},
		{"POST /" + hookedCollection + " (no hook)", s.create},
		{"POST /" + hookedCollection + " (beforeCreate sets x)", s.hooked},
	}
	for _, row := range rows {
		if row.r.requests == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%s\t%s\n", row.name, row.r.requests, row.r.errors, row.r.perSecond, millis(row.r.p50), millis(row.r.p99))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, row := range rows {
		if row.r.firstError != nil {
			fmt.Fprintf(w, "%s: first error: %v\n", row.name, row.r.firstError)
		}
	}
	if s.fnGet.requests > 0 {
		fmt.Fprintf(w, "function call / document read: %s — what calling a trivial function costs over reading a document (a round trip to a JavaScript worker process)\n",
			ratios(s.fnGet, s.docGet))
	}
	if s.hooked.requests > 0 {
		fmt.Fprintf(w, "create with hook / without: %s — what a beforeCreate hook adds to every write on its collection\n",
			ratios(s.hooked, s.create))
	}
	if len(s.deploys) > 0 {
		fmt.Fprintf(w, "deploy → new version answering on all %d replicas: %d deploys, p50 %s, max %s — from the PUT to the last replica answering it (contract: within %s)\n",
			deployReplicas, len(s.deploys), millis(percentile(s.deploys, 50)), millis(s.deploys[len(s.deploys)-1]), deployContractBound)
	}
	if s.failed != nil {
		fmt.Fprintf(w, "functions: failed: %v\n", s.failed)
	}
	return nil
}

// ratios compares two workloads: a's p50 and p99 over b's, and a's throughput over b's.
func ratios(a, b summary) string {
	ratio := func(x, y float64) string {
		if y == 0 {
			return "n/a"
		}
		return fmt.Sprintf("×%.2f", x/y)
	}
	return fmt.Sprintf("p50 %s, p99 %s, req/s %s", ratio(float64(a.p50), float64(b.p50)), ratio(float64(a.p99), float64(b.p99)), ratio(a.perSecond, b.perSecond))
}
