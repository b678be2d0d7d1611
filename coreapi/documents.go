package coreapi

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/backpackhq/backpack/core"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Listing limits of the contract.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
	maxListSkip      = 1_000_000
)

func parseDocumentID(raw string) (bson.ObjectID, error) {
	id, err := bson.ObjectIDFromHex(raw)
	if err != nil {
		return id, httpapi.BadRequest("invalid_id", "document ids are 24 hexadecimal characters")
	}
	return id, nil
}

var listParams = map[string]bool{"filter": true, "sort": true, "limit": true, "skip": true, "fields": true, "count": true}

func parseListQuery(q url.Values) (core.Query, error) {
	lq := core.Query{Limit: defaultListLimit}
	for k, v := range q {
		if !listParams[k] {
			return lq, httpapi.BadRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use filter, sort, limit, skip, fields, count)", k))
		}
		if len(v) > 1 {
			return lq, httpapi.BadRequest("invalid_query", fmt.Sprintf("query parameter %q is given more than once", k))
		}
	}
	var err error
	if lq.Filter, err = filter.Parse(q.Get("filter")); err != nil {
		return lq, err
	}
	if lq.Sort, err = filter.ParseSort(q.Get("sort")); err != nil {
		return lq, err
	}
	if lq.Fields, err = filter.ParseFields(q.Get("fields")); err != nil {
		return lq, err
	}
	if lq.Limit, err = intParam(q, "limit", defaultListLimit, 1, maxListLimit); err != nil {
		return lq, err
	}
	if lq.Skip, err = intParam(q, "skip", 0, 0, maxListSkip); err != nil {
		return lq, err
	}
	switch q.Get("count") {
	case "", "false":
	case "true":
		lq.Count = true
	default:
		return lq, httpapi.BadRequest("invalid_query", "count must be true or false")
	}
	return lq, nil
}

func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	raw := q.Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, httpapi.BadRequest("invalid_query", fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi))
	}
	return n, nil
}

// decodeDocument reads a client's document: a JSON object, key order kept. Its field names are
// checked where it is written (the data service), for every transport alike.
func (s *Server) decodeDocument(c echo.Context) (bson.D, error) {
	if err := httpapi.RequireJSON(c); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, httpapi.BadRequest("invalid_json", "the body is empty; send a JSON object")
	}
	lim := s.data.DocumentLimits()
	lim.MaxBytes = int(s.cfg.MaxBodyBytes)
	return jsondoc.DecodeObject(raw, lim)
}

// writeBSON answers with plain JSON for documents as they come from the store.
func writeBSON(c echo.Context, status int, v any) error {
	b, err := jsondoc.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	return c.JSONBlob(status, b)
}
