package coreapi

import (
	"net/http"
	"testing"
)

// TestSortAndFieldsPaths: ?sort= and ?fields= names follow the rules of filter paths, invalid
// UTF-8 (which a filter, being JSON, can never carry) included, with the same 400
// invalid_query as a bad filter path and never a database error.
func TestSortAndFieldsPaths(t *testing.T) {
	api := newTestAPI(t)
	c, _ := api.signedIn()
	c.mustStatus(http.StatusCreated, c.post("/collections", map[string]string{"name": "items"}))
	c.mustStatus(http.StatusCreated, c.post("/items", map[string]any{"a": 1}))
	c.expectError(c.get("/items?filter=%7B%22a..b%22:1%7D"), http.StatusBadRequest, "invalid_query")
	for _, q := range []string{
		"sort=%FF", "sort=-%FF", "sort=a.%C3", "sort=%ED%A0%80", "fields=%FF", "fields=a,b.%FE", "fields=%C0%AF",
		"sort=a..b", "fields=a.", "sort=%00", "fields=a.$b",
	} {
		c.expectError(c.get("/items?"+q), http.StatusBadRequest, "invalid_query")
	}
	c.mustStatus(http.StatusOK, c.get("/items?sort=-%C3%A9t%C3%A9&fields=%C3%A9t%C3%A9,a"))
}
