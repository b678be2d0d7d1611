package coreapi

import (
	"encoding/json"
	"fmt"
	"github.com/backpackhq/backpack/core"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/httpapi"
)

// indexPath is the admin path of a collection's indexes, or of one of them.
func indexPath(collection string, index ...string) string {
	p := "/admin/collections/" + collection + "/indexes"
	for _, i := range index {
		p += "/" + url.PathEscape(i)
	}
	return p
}

func listIndexes(adm *adminClient, collection string) []docstore.Index {
	adm.api.t.Helper()
	var out []docstore.Index
	adm.mustStatus(http.StatusOK, adm.get(indexPath(collection))).decode(&out)
	return out
}

// TestIndexesAdminAPI: create, list and drop through the admin port, with every refusal of
// the contract, and a dropped collection takes its indexes with it.
func TestIndexesAdminAPI(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	c, _ := api.signedIn()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"}))
	if got := listIndexes(adm, "cars"); len(got) != 0 {
		t.Fatalf("new collection has indexes %+v", got)
	}

	var created docstore.Index
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{"-n", "title"}})).decode(&created)
	if created.Name != "n_-1_title_1" || !slices.Equal(created.Fields, []string{"-n", "title"}) || created.Unique {
		t.Fatalf("created %+v", created)
	}
	r := adm.mustStatus(http.StatusOK, adm.get(indexPath("cars")))
	if want := `[{"name":"n_-1_title_1","fields":["-n","title"],"unique":false}]`; strings.TrimSpace(string(r.body)) != want {
		t.Fatalf("listed %s; want %s", r.body, want)
	}

	// The same name, or the same fields under another name, is index_exists.
	adm.expectError(adm.post(indexPath("cars"), map[string]any{"fields": []string{"-n", "title"}}), http.StatusConflict, "index_exists")
	adm.expectError(adm.post(indexPath("cars"), map[string]any{"fields": []string{"a"}, "name": "n_-1_title_1"}), http.StatusConflict, "index_exists")
	adm.expectError(adm.post(indexPath("cars"), map[string]any{"fields": []string{"-n", "title"}, "name": "again"}), http.StatusConflict, "index_exists")

	for _, body := range []map[string]any{
		{"fields": []string{}}, {"fields": []string{"$where"}}, {"fields": []string{"n", "n"}},
		{"fields": []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}}, {"fields": []string{"_id"}},
	} {
		adm.expectError(adm.post(indexPath("cars"), body), http.StatusBadRequest, "invalid_index")
	}
	adm.expectError(adm.post(indexPath("cars"), map[string]any{"fields": []string{"a"}, "sparse": true}), http.StatusBadRequest, "invalid_json")
	adm.expectError(adm.post(indexPath("cars"), map[string]any{"fields": "a"}), http.StatusBadRequest, "invalid_json")

	// Unknown collections, and the API's own ones, are not there.
	for _, name := range []string{"boats", "_users", "_collections", "_files"} {
		adm.expectError(adm.get(indexPath(name)), http.StatusNotFound, "collection_not_found")
		adm.expectError(adm.post(indexPath(name), map[string]any{"fields": []string{"email"}}), http.StatusNotFound, "collection_not_found")
		adm.expectError(adm.del(indexPath(name, "email_1")), http.StatusNotFound, "collection_not_found")
	}
	// Nor are indexes reachable from the public port.
	if r := c.get("/admin/collections/cars/indexes"); r.status != http.StatusNotFound {
		t.Fatalf("public port: %d %s", r.status, r.body)
	}

	for _, plate := range []string{"AB-1", "AB-1", "CD-2"} {
		c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"plate": plate}))
	}
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{"plate"}}))

	// A name needing escapes in a URL is dropped by that name.
	odd := "by plate / 100% é"
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{"-plate"}, "name": odd, "unique": false}))
	got := listIndexes(adm, "cars")
	if names := []string{got[0].Name, got[1].Name, got[2].Name}; len(got) != 3 || !slices.Contains(names, odd) {
		t.Fatalf("listed %+v", got)
	}
	adm.mustStatus(http.StatusNoContent, adm.del(indexPath("cars", odd)))
	adm.mustStatus(http.StatusNoContent, adm.del(indexPath("cars", "plate_1")))
	adm.expectError(adm.del(indexPath("cars", "plate_1")), http.StatusNotFound, "index_not_found")
	adm.expectError(adm.del(indexPath("cars", "_id_")), http.StatusNotFound, "index_not_found")
	adm.expectError(adm.del(indexPath("cars", "*")), http.StatusNotFound, "index_not_found")
	if got := listIndexes(adm, "cars"); len(got) != 1 || got[0].Name != "n_-1_title_1" {
		t.Fatalf("after drops: %+v", got)
	}

	// A collection has at most core.MaxIndexes.
	for i := len(listIndexes(adm, "cars")); i < core.MaxIndexes; i++ {
		adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{fmt.Sprintf("f%d", i)}}))
	}
	adm.expectError(adm.post(indexPath("cars"), map[string]any{"fields": []string{"one-more"}}), http.StatusConflict, "too_many_indexes")

	// Dropping the collection drops its indexes: a new one of that name has none.
	adm.mustStatus(http.StatusOK, adm.del("/admin/collections/cars"))
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"}))
	if got := listIndexes(adm, "cars"); len(got) != 0 {
		t.Fatalf("a recreated collection has indexes %+v", got)
	}
}

// TestIndexesUniqueOverDuplicates: a unique index over values that already repeat is refused
// with duplicate_values naming the fields, and nothing is built; once they no longer repeat,
// it builds.
func TestIndexesUniqueOverDuplicates(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	c, _ := api.signedIn()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"}))
	var ids []string
	for _, plate := range []string{"AB-1", "AB-1", "CD-2"} {
		ids = append(ids, c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"plate": plate, "n": 1})).doc()["_id"].(string))
	}
	r := adm.post(indexPath("cars"), map[string]any{"fields": []string{"n", "-plate"}, "unique": true})
	adm.expectError(r, http.StatusConflict, "duplicate_values")
	var e httpapi.ErrorBody
	r.decode(&e)
	if fields, _ := e.Error.Details["fields"].([]any); len(fields) != 2 || fields[0] != "n" || fields[1] != "plate" {
		t.Errorf("duplicate_values details %v", e.Error.Details)
	}
	if got := listIndexes(adm, "cars"); len(got) != 0 {
		t.Fatalf("after a refused unique index: %+v", got)
	}
	c.mustStatus(http.StatusOK, c.patch("/cars/"+ids[1], map[string]any{"plate": "AB-2"}))
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{"n", "-plate"}, "unique": true}))
}

// TestIndexesAdminEvents: index changes reach the admin stream, never end users.
func TestIndexesAdminEvents(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	ann, _ := api.signedIn()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"}))
	wa := ann.dialWS()
	aw := api.dialAdminWS()
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{"-n"}, "unique": true}))
	expectAdminEvent(aw, core.KindIndex, "create", func(m, r map[string]any) bool {
		f, _ := r["fields"].([]any)
		return m["collection"] == "cars" && r["name"] == "n_-1" && len(f) == 1 && f[0] == "-n" && r["unique"] == true
	})
	adm.mustStatus(http.StatusNoContent, adm.del(indexPath("cars", "n_-1")))
	expectAdminEvent(aw, core.KindIndex, "delete", func(m, r map[string]any) bool {
		return m["collection"] == "cars" && r["name"] == "n_-1" && r["unique"] == true
	})
	wa.expectNothing("index event", func(m map[string]any) bool { return m["kind"] != nil || m["collection"] == "cars" })
	assertAdminKinds(t, aw)
}

// expectDuplicateValue checks an answer is 409 duplicate_value naming these fields.
func expectDuplicateValue(t *testing.T, what string, r *response, fields ...string) {
	t.Helper()
	var e httpapi.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	got, _ := e.Error.Details["fields"].([]any)
	if r.status != http.StatusConflict || e.Error.Code != "duplicate_value" || e.Error.Message == "" || fmt.Sprint(got) != fmt.Sprint(fields) {
		t.Fatalf("%s: %d %s; want 409 duplicate_value with fields %v", what, r.status, r.body, fields)
	}
}

// TestIndexesUniqueWrites: a unique index refuses a repeat on every write path — HTTP POST,
// PUT, PATCH on both ports, websocket create, update, patch — with 409 duplicate_value and the
// index's fields, and stores nothing; a document may keep its own values, and values that do not
// repeat pass.
func TestIndexesUniqueWrites(t *testing.T) {
	api := newTestAPI(t)
	adm := api.adminClient()
	c, _ := api.signedIn()
	adm.mustStatus(http.StatusCreated, adm.post("/admin/collections", map[string]string{"name": "cars"}))
	adm.mustStatus(http.StatusCreated, adm.post(indexPath("cars"), map[string]any{"fields": []string{"maker", "-plate"}, "unique": true}))
	first := c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"maker": "Saab", "plate": "AB-1"})).doc()["_id"].(string)
	other := c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"maker": "Saab", "plate": "CD-2"})).doc()["_id"].(string)
	taken := map[string]any{"maker": "Saab", "plate": "AB-1"}

	expectDuplicateValue(t, "POST", c.post("/cars", taken), "maker", "plate")
	expectDuplicateValue(t, "PUT", c.put("/cars/"+other, taken), "maker", "plate")
	expectDuplicateValue(t, "PATCH", c.patch("/cars/"+other, map[string]any{"plate": "AB-1"}), "maker", "plate")
	expectDuplicateValue(t, "admin POST", adm.post("/admin/collections/cars/docs", taken), "maker", "plate")
	expectDuplicateValue(t, "admin PUT", adm.put("/admin/collections/cars/docs/"+other, taken), "maker", "plate")
	expectDuplicateValue(t, "admin PATCH", adm.patch("/admin/collections/cars/docs/"+other, map[string]any{"plate": "AB-1"}), "maker", "plate")

	w := c.dialWS()
	for _, call := range []struct {
		action string
		params map[string]any
	}{
		{"create", map[string]any{"collection": "cars", "data": taken}},
		{"update", map[string]any{"collection": "cars", "id": other, "data": taken}},
		{"patch", map[string]any{"collection": "cars", "id": other, "data": map[string]any{"plate": "AB-1"}}},
	} {
		r := w.call(call.action, call.params)
		e, _ := r["error"].(map[string]any)
		d, _ := e["details"].(map[string]any)
		if r["action"] != "error" || e["code"] != "duplicate_value" || fmt.Sprint(d["fields"]) != "[maker plate]" {
			t.Fatalf("websocket %s: %v; want duplicate_value with fields [maker plate]", call.action, r)
		}
	}

	// Nothing was stored; the other document still has its plate.
	var docs []doc
	adm.mustStatus(http.StatusOK, adm.get("/admin/collections/cars/docs")).decode(&docs)
	if len(docs) != 2 {
		t.Fatalf("documents after the refusals: %v", docs)
	}
	for _, d := range docs {
		if d["_id"] == other && d["plate"] != "CD-2" {
			t.Fatalf("the refused writes changed %v", d)
		}
	}
	// A document keeps its own values, and values that do not repeat pass.
	c.mustStatus(http.StatusOK, c.put("/cars/"+first, map[string]any{"maker": "Saab", "plate": "AB-1", "color": "red"}))
	c.mustStatus(http.StatusOK, c.patch("/cars/"+other, map[string]any{"plate": "EF-3"}))
	c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"maker": "Volvo", "plate": "AB-1"}))
	// Once the index is dropped, repeats are allowed again.
	adm.mustStatus(http.StatusNoContent, adm.del(indexPath("cars", "maker_1_plate_-1")))
	c.mustStatus(http.StatusCreated, c.post("/cars", taken))
}
