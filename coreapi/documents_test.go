package coreapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/backpackhq/backpack/core"
)

func TestCollections(t *testing.T) {
	api := newTestAPI(t)
	anon := api.client()
	anon.expectError(anon.get("/collections"), 401, "not_signed_in")
	anon.expectError(anon.post("/collections", map[string]string{"name": "cars"}), 401, "not_signed_in")
	c, _ := api.signedIn()
	info := c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"})).doc()
	if info["name"] != "cars" || info["rule"] != "authenticated" {
		t.Fatalf("created = %v", info)
	}
	c.expectError(c.post("/collections", map[string]string{"name": "cars"}), 409, "collection_exists")
	for _, name := range []string{"", "1cars", "_users", "system.x", "auth", "Files", "a b", "cars$", strings.Repeat("x", 65), "ws", "admin"} {
		c.expectError(c.post("/collections", map[string]string{"name": name}), 400, "invalid_name")
	}
	c.expectError(c.post("/collections", `{"name": 5}`), 400, "invalid_json")
	var list []core.CollectionInfo
	c.mustStatus(http.StatusOK, c.get("/collections")).decode(&list)
	if len(list) != 1 || list[0].Name != "cars" {
		t.Fatalf("list = %+v", list)
	}
	c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"make": "VW"}))
}

func TestUnknownCollection(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	for _, r := range []*response{
		c.get("/boats"), c.post("/boats", map[string]any{"a": 1}), c.get("/boats/0123456789abcdef01234567"),
		c.put("/boats/0123456789abcdef01234567", map[string]any{}), c.patch("/boats/0123456789abcdef01234567", map[string]any{}),
		c.del("/boats/0123456789abcdef01234567"), c.get("/_users"), c.get("/system.users"),
	} {
		c.expectError(r, 404, "collection_not_found")
	}
}

func TestDocumentCRUD(t *testing.T) {
	api := newTestAPI(t)
	c, uid := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"}))
	created := c.mustStatus(http.StatusCreated, c.post("/cars", `{"make":"VW","model":"Golf","year":1974,"tags":["a"],"spec":{"hp":50.5}}`)).doc()
	id, _ := created["_id"].(string)
	if len(id) != 24 || created["_owner"] != uid || created["_createdAt"] == nil || created["_createdAt"] != created["_updatedAt"] {
		t.Fatalf("created = %v", created)
	}
	got := c.mustStatus(http.StatusOK, c.get("/cars/"+id)).doc()
	if got["make"] != "VW" || got["year"] != float64(1974) || got["spec"].(map[string]any)["hp"] != 50.5 {
		t.Fatalf("got = %v", got)
	}
	patched := c.mustStatus(http.StatusOK, c.patch("/cars/"+id, map[string]any{"year": 1975, "color": "red"})).doc()
	if patched["model"] != "Golf" || patched["year"] != float64(1975) || patched["color"] != "red" || patched["_createdAt"] != created["_createdAt"] {
		t.Fatalf("patched = %v", patched)
	}
	replaced := c.mustStatus(http.StatusOK, c.put("/cars/"+id, map[string]any{"make": "Audi"})).doc()
	if replaced["make"] != "Audi" || replaced["model"] != nil || replaced["color"] != nil || replaced["_owner"] != uid ||
		replaced["_createdAt"] != created["_createdAt"] || replaced["_id"] != id {
		t.Fatalf("replaced = %v", replaced)
	}
	deleted := c.mustStatus(http.StatusOK, c.del("/cars/"+id)).doc()
	if deleted["make"] != "Audi" {
		t.Fatalf("deleted = %v", deleted)
	}
	c.expectError(c.get("/cars/"+id), 404, "document_not_found")
	c.expectError(c.del("/cars/"+id), 404, "document_not_found")
	c.expectError(c.put("/cars/"+id, map[string]any{}), 404, "document_not_found")
	c.expectError(c.patch("/cars/"+id, map[string]any{}), 404, "document_not_found")
	c.expectError(c.get("/cars/not-an-id"), 400, "invalid_id")
	c.expectError(c.del("/cars/0123"), 400, "invalid_id")
}

func TestDocumentBadInput(t *testing.T) {
	api := newTestAPI(t, func(c *Config) { c.MaxBodyBytes = 4096 })
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "cars"}))
	id := c.mustStatus(http.StatusCreated, c.post("/cars", map[string]any{"a": 1})).doc()["_id"].(string)
	for _, f := range []string{"_id", "_owner", "_createdAt", "_updatedAt"} {
		body := map[string]any{f: "x", "a": 2}
		c.expectError(c.post("/cars", body), 400, "protected_field")
		c.expectError(c.put("/cars/"+id, body), 400, "protected_field")
		c.expectError(c.patch("/cars/"+id, body), 400, "protected_field")
	}
	for _, body := range []string{`{"$set":{"a":1}}`, `{"a.b":1}`, `{"x":{"$gt":1}}`, `{"x":[{"$where":"1"}]}`, `{"":1}`} {
		c.expectError(c.post("/cars", body), 400, "invalid_field_name")
		c.expectError(c.patch("/cars/"+id, body), 400, "invalid_field_name")
	}
	for _, body := range []string{`{"a":`, `[1,2]`, `"str"`, `{"a":1}{"b":2}`, `{"a":1,"a":2}`, ``, `{"a":1e400}`} {
		c.expectError(c.post("/cars", body), 400, "invalid_json")
	}
	c.expectError(c.raw(http.MethodPost, "/cars", strings.NewReader(`{"a":1}`), "text/plain"), 415, "unsupported_media_type")
	c.expectError(c.raw(http.MethodPost, "/cars", strings.NewReader(`{"a":1}`), ""), 415, "unsupported_media_type")
	c.expectError(c.post("/cars", map[string]string{"big": strings.Repeat("x", 5000)}), 413, "payload_too_large")
	c.expectError(c.patch("/files/any.txt", map[string]string{"filename": strings.Repeat("x", 5000)}), 413, "payload_too_large")
	// Nothing was written by any refused request.
	if n := len(c.mustStatus(http.StatusOK, c.get("/cars")).docs()); n != 1 {
		t.Fatalf("%d documents after refused writes, want 1", n)
	}
	unchanged := c.mustStatus(http.StatusOK, c.get("/cars/"+id)).doc()
	if unchanged["a"] != float64(1) {
		t.Fatalf("document changed by refused writes: %v", unchanged)
	}
}

func listQ(path string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return path + "?" + q.Encode()
}

func TestListQueries(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "items"}))
	for i := range 30 {
		c.mustStatus(http.StatusCreated, c.post("/items", map[string]any{"n": i, "name": fmt.Sprintf("Item %02d", i), "even": i%2 == 0, "tags": []string{"t" + fmt.Sprint(i%3)}}))
	}
	count := func(params map[string]string) int {
		t.Helper()
		return len(c.mustStatus(http.StatusOK, c.get(listQ("/items", params))).docs())
	}
	if n := count(nil); n != 30 {
		t.Fatalf("all = %d", n)
	}
	cases := map[string]int{
		`{"n":5}`:                                      1,
		`{"n":{"$eq":5}}`:                              1,
		`{"n":{"$ne":5}}`:                              29,
		`{"n":{"$gt":25}}`:                             4,
		`{"n":{"$gte":25}}`:                            5,
		`{"n":{"$lt":3}}`:                              3,
		`{"n":{"$lte":3}}`:                             4,
		`{"n":{"$in":[1,2,99]}}`:                       2,
		`{"n":{"$nin":[1,2]}}`:                         28,
		`{"missing":{"$exists":false}}`:                30,
		`{"even":{"$exists":true}}`:                    30,
		`{"$and":[{"even":true},{"n":{"$lt":10}}]}`:    5,
		`{"$or":[{"n":1},{"n":2}]}`:                    2,
		`{"n":{"$not":{"$lt":20}}}`:                    10,
		`{"name":{"$regex":"^item 0","$options":"i"}}`: 10,
		`{"tags":"t1"}`:                                10,
	}
	for f, want := range cases {
		if got := count(map[string]string{"filter": f}); got != want {
			t.Errorf("filter %s: %d documents, want %d", f, got, want)
		}
	}
	page := c.mustStatus(http.StatusOK, c.get(listQ("/items", map[string]string{"sort": "-n", "limit": "5", "skip": "2", "fields": "n", "count": "true"})))
	docs := page.docs()
	if len(docs) != 5 || docs[0]["n"] != float64(27) || docs[4]["n"] != float64(23) || docs[0]["name"] != nil || docs[0]["_id"] == nil {
		t.Fatalf("page = %v", docs)
	}
	if page.header.Get("X-Total-Count") != "30" {
		t.Fatalf("X-Total-Count = %q", page.header.Get("X-Total-Count"))
	}
	filtered := c.mustStatus(http.StatusOK, c.get(listQ("/items", map[string]string{"filter": `{"even":true}`, "limit": "2", "count": "true"})))
	if len(filtered.docs()) != 2 || filtered.header.Get("X-Total-Count") != "15" {
		t.Fatalf("filtered count = %q", filtered.header.Get("X-Total-Count"))
	}
	first := c.mustStatus(http.StatusOK, c.get(listQ("/items", map[string]string{"sort": "n", "limit": "1"}))).docs()[0]
	byID := c.mustStatus(http.StatusOK, c.get(listQ("/items", map[string]string{"filter": fmt.Sprintf(`{"_id":%q}`, first["_id"])}))).docs()
	if len(byID) != 1 || byID[0]["n"] != float64(0) {
		t.Fatalf("filter by _id = %v", byID)
	}
	if n := count(map[string]string{"sort": "name,-n"}); n != 30 {
		t.Fatalf("multi-sort = %d", n)
	}
}

func TestListRejections(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "items"}))
	for _, f := range []string{
		`{"$where":"sleep(1000)"}`, `{"$expr":{"$gt":["$a","$b"]}}`, `{"a":{"$function":{}}}`, `{"$function":{"body":"x"}}`,
		`{"a":{"$foo":1}}`, `{"$nor":[{"a":1}]}`, `{"a":{"$elemMatch":{"b":1}}}`, `{"$text":{"$search":"x"}}`,
		`{"a":{"$size":1}}`, `{"a":{"$type":"string"}}`, `{"$jsonSchema":{}}`, `{"a":{"$regex":"("}}`,
		`{"a":{"$regex":"x","$options":"g"}}`, `{"a":{"$exists":"yes"}}`, `{"$and":[]}`, `{"$or":{"a":1}}`,
		`{"a":{"$gt":1,"b":2}}`, `not json`, `[1]`, `{"a":` + strings.Repeat(`{"b":`, 20) + `1` + strings.Repeat(`}`, 21),
		`{"a":{"$in":[` + strings.Repeat(`1,`, 400) + `1]}}`, `{"$gt":1}`, `{"a..b":1}`,
	} {
		r := c.get(listQ("/items", map[string]string{"filter": f}))
		if r.status != 400 || (r.errorCode() != "invalid_query" && r.errorCode() != "invalid_json") {
			t.Errorf("filter %.60s: %d %s", f, r.status, r.body)
		}
	}
	for params, code := range map[string]string{
		"limit=0": "invalid_query", "limit=1001": "invalid_query", "limit=abc": "invalid_query", "skip=-1": "invalid_query",
		"count=yes": "invalid_query", "sort=%24a": "invalid_query", "sort=a,,b": "invalid_query", "fields=%24x": "invalid_query",
		"filters=%7B%7D": "invalid_query", "limit=1&limit=2": "invalid_query",
	} {
		c.expectError(c.get("/items?"+params), 400, code)
	}
}

func TestCollectionRules(t *testing.T) {
	api := newTestAPI(t)
	ann, annID := api.signedIn()
	bob, _ := api.signedIn()
	anon := api.client()
	for _, name := range []string{"notes", "posts", "shared"} {
		ann.mustStatus(http.StatusCreated, ann.post("/collections", map[string]string{"name": name}))
	}
	ctx := context.Background()
	if _, err := api.srv.data.SetCollectionRule(ctx, "notes", core.RuleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := api.srv.data.SetCollectionRule(ctx, "posts", core.RulePublicRead); err != nil {
		t.Fatal(err)
	}
	if _, err := api.srv.data.SetCollectionRule(ctx, "shared", "everyone"); err == nil {
		t.Fatal("unknown rule accepted")
	}

	// authenticated (default): every signed-in user reads and writes; anonymous users nothing.
	sharedID := ann.mustStatus(http.StatusCreated, ann.post("/shared", map[string]any{"v": 1})).doc()["_id"].(string)
	bob.mustStatus(http.StatusOK, bob.get("/shared/"+sharedID))
	bob.mustStatus(http.StatusOK, bob.patch("/shared/"+sharedID, map[string]any{"v": 2}))
	for _, r := range []*response{anon.get("/shared"), anon.get("/shared/" + sharedID), anon.post("/shared", map[string]any{}),
		anon.put("/shared/"+sharedID, map[string]any{}), anon.patch("/shared/"+sharedID, map[string]any{}), anon.del("/shared/" + sharedID)} {
		anon.expectError(r, 401, "not_signed_in")
	}

	// owner: each user sees and changes only their own documents.
	annNote := ann.mustStatus(http.StatusCreated, ann.post("/notes", map[string]any{"text": "ann's"})).doc()["_id"].(string)
	bob.mustStatus(http.StatusCreated, bob.post("/notes", map[string]any{"text": "bob's"}))
	annList := ann.mustStatus(http.StatusOK, ann.get("/notes?count=true"))
	if docs := annList.docs(); len(docs) != 1 || docs[0]["_owner"] != annID || annList.header.Get("X-Total-Count") != "1" {
		t.Fatalf("ann sees %v", docs)
	}
	if docs := bob.mustStatus(http.StatusOK, bob.get(listQ("/notes", map[string]string{"filter": `{"text":"ann's"}`}))).docs(); len(docs) != 0 {
		t.Fatalf("bob sees ann's note through a filter: %v", docs)
	}
	if docs := bob.mustStatus(http.StatusOK, bob.get(listQ("/notes", map[string]string{"filter": fmt.Sprintf(`{"$or":[{"_owner":%q},{"text":"ann's"}]}`, annID)}))).docs(); len(docs) != 0 {
		t.Fatalf("bob sees ann's note through $or: %v", docs)
	}
	bob.expectError(bob.get("/notes/"+annNote), 404, "document_not_found")
	bob.expectError(bob.put("/notes/"+annNote, map[string]any{"text": "mine"}), 404, "document_not_found")
	bob.expectError(bob.patch("/notes/"+annNote, map[string]any{"text": "mine"}), 404, "document_not_found")
	bob.expectError(bob.del("/notes/"+annNote), 404, "document_not_found")
	if ann.mustStatus(http.StatusOK, ann.get("/notes/"+annNote)).doc()["text"] != "ann's" {
		t.Fatal("ann's note changed by bob")
	}
	anon.expectError(anon.get("/notes"), 401, "not_signed_in")

	// public-read: anyone reads, only signed-in users write.
	postID := ann.mustStatus(http.StatusCreated, ann.post("/posts", map[string]any{"title": "hello"})).doc()["_id"].(string)
	if docs := anon.mustStatus(http.StatusOK, anon.get("/posts")).docs(); len(docs) != 1 {
		t.Fatalf("anonymous list = %v", docs)
	}
	anon.mustStatus(http.StatusOK, anon.get("/posts/"+postID))
	anon.expectError(anon.post("/posts", map[string]any{"title": "spam"}), 401, "not_signed_in")
	anon.expectError(anon.patch("/posts/"+postID, map[string]any{"title": "spam"}), 401, "not_signed_in")
	anon.expectError(anon.put("/posts/"+postID, map[string]any{"title": "spam"}), 401, "not_signed_in")
	anon.expectError(anon.del("/posts/"+postID), 401, "not_signed_in")
	bob.mustStatus(http.StatusOK, bob.patch("/posts/"+postID, map[string]any{"title": "edited"}))
}
