package coreapi

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAPIKeyRotationAcrossReplicas: a rotation loses no request on any replica. The new key
// works at once even on a replica that has not heard of the rotation; the old key keeps working
// on every replica for the overlap, then is refused; revokePrevious refuses it at once.
func TestAPIKeyRotationAcrossReplicas(t *testing.T) {
	const overlap = 2 * time.Second
	a := newTestAPI(t, func(c *Config) { c.APIKeyOverlap = overlap })
	b := a.replica()
	deaf := a.deafReplica()
	for _, api := range []*testAPI{a, b, deaf} {
		if !keyWorks(api, testAPIKey) {
			t.Fatal("a replica refuses the configured key")
		}
	}
	adm := a.adminClient()
	rotated := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true})).doc()
	key := rotated["apiKey"].(string)
	until, err := time.Parse(time.RFC3339Nano, rotated["previousApiKeyValidUntil"].(string))
	if err != nil || time.Until(until) > overlap || time.Until(until) <= 0 {
		t.Fatalf("rotation answer = %v (%v)", rotated, err)
	}

	// No wait: the new key works everywhere, even where the rotation's event never arrives.
	before := deaf.srv.data.Settings().UnknownKeyReloads()
	for _, api := range []*testAPI{a, b, deaf} {
		if !keyWorks(api, key) {
			t.Fatalf("replica %s refuses the new key right after the rotation", api.url)
		}
	}
	if deaf.srv.data.Settings().UnknownKeyReloads() == before {
		t.Fatal("the deaf replica accepted the new key without reading the settings")
	}
	// The old key works on every replica during the overlap, websockets included.
	for _, api := range []*testAPI{a, b, deaf} {
		if time.Now().Before(until) && !keyWorks(api, testAPIKey) {
			t.Fatalf("replica %s refuses the old key during the overlap", api.url)
		}
	}
	old := a.client()
	if time.Now().Before(until) {
		old.on(b).dialWS()
	}
	// After the overlap it is refused, with the contract's error.
	time.Sleep(time.Until(until))
	for _, api := range []*testAPI{a, b, deaf} {
		c := api.client()
		c.expectError(c.get("/auth/me"), http.StatusUnauthorized, "invalid_api_key")
		if !keyWorks(api, key) {
			t.Fatal("the new key stopped working")
		}
	}
	if v := adm.get("/admin/settings").doc()["previousApiKeyValidUntil"]; v != nil {
		t.Fatalf("settings still show a previous key after its overlap: %v", v)
	}

	// revokePrevious: the key just replaced is refused at once on the rotating replica, and
	// within seconds on the others.
	third := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "revokePrevious": true})).doc()
	if _, ok := third["previousApiKeyValidUntil"]; ok {
		t.Fatalf("a revoking rotation reports a previous key: %v", third)
	}
	if keyWorks(a, key) || !keyWorks(a, third["apiKey"].(string)) || !keyWorks(b, third["apiKey"].(string)) {
		t.Fatal("revokePrevious: the old key still works on the rotating replica, or the new one does not")
	}
	if !within(3*time.Second, func() bool { return !keyWorks(b, key) }) {
		t.Fatal("replica B still accepts a revoked key 3 s after the rotation")
	}

	// revokePrevious alone ends the overlap of the last rotation.
	fourth := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true})).doc()
	if !keyWorks(a, third["apiKey"].(string)) {
		t.Fatal("the previous key does not work during the overlap")
	}
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"revokePrevious": true}))
	if keyWorks(a, third["apiKey"].(string)) || !keyWorks(a, fourth["apiKey"].(string)) {
		t.Fatal("revokePrevious alone did not end the overlap")
	}
}

// TestUnknownKeysBoundedReloads: a burst of wrong keys makes a replica read its settings a few
// times a second at most, however many there are, and every one is refused.
func TestUnknownKeysBoundedReloads(t *testing.T) {
	a := newTestAPI(t)
	settings := a.srv.data.Settings()
	before := settings.UnknownKeyReloads()
	const requests = 200
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for i := 0; i < requests; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, a.url+"/auth/me", nil)
			req.Header.Set("X-API-Key", "wrong-key")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode == http.StatusUnauthorized {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	reloads := settings.UnknownKeyReloads() - before
	// One reload per unknownKeyReloadInterval, plus the first.
	limit := int64(elapsed/(250*time.Millisecond)) + 2
	t.Logf("%d wrong keys in %s: %d reloads", requests, elapsed.Round(time.Millisecond), reloads)
	if refused != requests || reloads < 1 || reloads > limit {
		t.Fatalf("%d of %d refused, %d reloads (at most %d expected)", refused, requests, reloads, limit)
	}
	// The metric says so too.
	metrics := string(a.adminClient().get("/metrics").body)
	if !strings.Contains(metrics, "backpack_api_unknown_key_reloads_total ") {
		t.Fatal("/metrics has no backpack_api_unknown_key_reloads_total")
	}
}

// TestAPIKeyRotationUnderLoad: clients keep calling two replicas while the key rotates; some
// switch to the new key the moment the rotation answers, others keep the old one for a while.
// No request is refused.
func TestAPIKeyRotationUnderLoad(t *testing.T) {
	const overlap = 3 * time.Second
	a := newTestAPI(t, func(c *Config) { c.APIKeyOverlap = overlap })
	replicas := []*testAPI{a, a.replica(), a.deafReplica()}
	var newKey atomic.Pointer[string]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent, refused atomic.Int64
	for i := 0; i < 6; i++ {
		api, switcher := replicas[i%len(replicas)], i%2 == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				key := testAPIKey
				if k := newKey.Load(); k != nil && switcher {
					key = *k
				}
				req, _ := http.NewRequest(http.MethodGet, api.url+"/auth/me", nil)
				req.Header.Set("X-API-Key", key)
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				sent.Add(1)
				if strings.Contains(string(body), "invalid_api_key") {
					refused.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	adm := a.adminClient()
	key := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true})).doc()["apiKey"].(string)
	newKey.Store(&key)
	// The laggards keep the old key for part of the overlap, well before it ends.
	time.Sleep(overlap / 3)
	close(stop)
	wg.Wait()
	t.Logf("%d requests across the rotation, %d refused", sent.Load(), refused.Load())
	if refused.Load() != 0 {
		t.Fatalf("%d of %d requests refused across a rotation", refused.Load(), sent.Load())
	}
}

// TestChosenAPIKey: the control plane chooses the new key and may send it more than once (it
// cannot tell whether an interrupted rotation arrived); sending it again changes nothing, so the
// key replaced by its first arrival keeps its overlap. Keys that are not keys are refused.
func TestChosenAPIKey(t *testing.T) {
	a := newTestAPI(t, func(c *Config) { c.APIKeyOverlap = time.Minute })
	b := a.replica()
	adm := a.adminClient()
	chosen := strings.Repeat("k", 20) + "_-" + strings.Repeat("Z9", 11)
	first := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "apiKey": chosen})).doc()
	if first["apiKey"] != chosen {
		t.Fatalf("rotation with a chosen key answered apiKey %v", first["apiKey"])
	}
	if !keyWorks(a, chosen) || !keyWorks(b, chosen) || !keyWorks(b, testAPIKey) {
		t.Fatal("after the rotation the chosen key, or the old one during its overlap, is refused")
	}
	again := adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "apiKey": chosen})).doc()
	if again["apiKey"] != chosen || again["previousApiKeyValidUntil"] != first["previousApiKeyValidUntil"] || again["apiKeyRotatedAt"] != first["apiKeyRotatedAt"] {
		t.Fatalf("sending the key in force again changed the rotation: first %v, again %v", first, again)
	}
	if !keyWorks(a, testAPIKey) {
		t.Fatal("sending the key in force again ended the old key's overlap")
	}
	// Sent again with revokePrevious (a leaked key whose rotation was interrupted): the old key
	// stops, the chosen one stays.
	adm.mustStatus(http.StatusOK, adm.patch("/admin/settings", map[string]any{"rotateApiKey": true, "apiKey": chosen, "revokePrevious": true}))
	if keyWorks(a, testAPIKey) || !keyWorks(a, chosen) {
		t.Fatal("revokePrevious with the key in force: the old key still works, or the chosen one does not")
	}

	for _, body := range []map[string]any{
		{"apiKey": strings.Repeat("a", 43)},
		{"rotateApiKey": true, "apiKey": "short"},
		{"rotateApiKey": true, "apiKey": strings.Repeat("a", 257)},
		{"rotateApiKey": true, "apiKey": strings.Repeat("a", 42) + " "},
		{"rotateApiKey": true, "apiKey": strings.Repeat("a", 42) + "é"},
		{"rotateApiKey": true, "apiKey": strings.Repeat("a", 42) + "="},
	} {
		res := adm.patch("/admin/settings", body)
		adm.expectError(res, http.StatusBadRequest, "invalid_request")
		if !strings.Contains(string(res.body), `"field":"apiKey"`) {
			t.Fatalf("refusal of %v does not name the field: %s", body, res.body)
		}
	}
	if !keyWorks(a, chosen) {
		t.Fatal("a refused rotation changed the key")
	}
}
