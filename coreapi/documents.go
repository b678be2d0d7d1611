package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/filter"
	"github.com/backpackhq/backpack/tools/httpapi"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Listing limits of the contract.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
	maxListSkip      = 1_000_000
)

// and combines two filters; either may be empty, and the result is never nil.
func and(a, b bson.D) bson.D {
	switch {
	case len(a) == 0 && len(b) == 0:
		return bson.D{}
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	return bson.D{{Key: "$and", Value: bson.A{a, b}}}
}

func parseDocumentID(raw string) (bson.ObjectID, error) {
	id, err := bson.ObjectIDFromHex(raw)
	if err != nil {
		return id, httpapi.BadRequest("invalid_id", "document ids are 24 hexadecimal characters")
	}
	return id, nil
}

// listQuery is a validated listing: filter, sort, projection, paging and whether to count.
type listQuery struct {
	filter bson.D
	sort   bson.D
	fields bson.D
	limit  int64
	skip   int64
	count  bool
}

var listParams = map[string]bool{"filter": true, "sort": true, "limit": true, "skip": true, "fields": true, "count": true}

func parseListQuery(q url.Values) (listQuery, error) {
	lq := listQuery{limit: defaultListLimit}
	for k, v := range q {
		if !listParams[k] {
			return lq, httpapi.BadRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use filter, sort, limit, skip, fields, count)", k))
		}
		if len(v) > 1 {
			return lq, httpapi.BadRequest("invalid_query", fmt.Sprintf("query parameter %q is given more than once", k))
		}
	}
	var err error
	if lq.filter, err = filter.Parse(q.Get("filter")); err != nil {
		return lq, err
	}
	if lq.sort, err = filter.ParseSort(q.Get("sort")); err != nil {
		return lq, err
	}
	if lq.fields, err = filter.ParseFields(q.Get("fields")); err != nil {
		return lq, err
	}
	if lq.limit, err = intParam(q, "limit", defaultListLimit, 1, maxListLimit); err != nil {
		return lq, err
	}
	if lq.skip, err = intParam(q, "skip", 0, 0, maxListSkip); err != nil {
		return lq, err
	}
	switch q.Get("count") {
	case "", "false":
	case "true":
		lq.count = true
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

// findDocuments lists what the caller may see; total is -1 unless lq.count is set.
func (s *Server) findDocuments(ctx context.Context, ref collectionRef, lq listQuery) (docs []bson.D, total int64, err error) {
	// A client's regular expression runs on the database's engine; bound how long it may run.
	ctx, cancel := s.queryContext(ctx)
	defer cancel()
	f := and(lq.filter, ref.scope)
	docs, err = ref.coll.Find(ctx, f, docstore.FindOptions{Sort: lq.sort, Projection: lq.fields, Skip: lq.skip, Limit: lq.limit})
	if err != nil {
		return nil, 0, queryError(err)
	}
	if docs == nil {
		docs = []bson.D{}
	}
	total = -1
	if lq.count {
		if total, err = ref.coll.Count(ctx, f); err != nil {
			return nil, 0, queryError(err)
		}
	}
	return docs, total, nil
}

// queryError turns a database's refusal of a validated query (a regular expression its engine
// rejects, say) into a 400, without passing the engine's message on.
func queryError(err error) error {
	if errors.Is(err, docstore.ErrInvalidQuery) {
		return httpapi.BadRequest("invalid_query", "the database could not run this query; check the filter, sort and fields")
	}
	return fmt.Errorf("query: %w", err)
}

func (s *Server) findDocument(ctx context.Context, ref collectionRef, id bson.ObjectID) (bson.D, error) {
	doc, err := ref.coll.FindOne(ctx, ref.byID(id), docstore.FindOptions{})
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, errDocumentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get document: %w", err)
	}
	return doc, nil
}

// insertDocument stores a client's document with the server's fields and broadcasts it.
func (s *Server) insertDocument(ctx context.Context, ref collectionRef, data bson.D) (bson.D, error) {
	return s.insert(ctx, ref, data, "create")
}

// insert is insertDocument with the action its broadcast names (createChannel announces a
// channel document as such).
func (s *Server) insert(ctx context.Context, ref collectionRef, data bson.D, action string) (bson.D, error) {
	if err := checkClientDocument(data, s.documentLimits()); err != nil {
		return nil, err
	}
	now := timestamp()
	doc := append(bson.D{{Key: "_id", Value: bson.NewObjectID()}}, data...)
	if !ref.who.admin {
		doc = append(doc, bson.E{Key: "_owner", Value: ref.who.userID})
	}
	doc = append(doc, bson.E{Key: "_createdAt", Value: now}, bson.E{Key: "_updatedAt", Value: now})
	if err := ref.coll.Insert(ctx, doc); err != nil {
		return nil, fmt.Errorf("create document: %w", err)
	}
	s.publishDocument(ctx, action, ref.info, doc)
	return doc, nil
}

// replaceAttempts bounds retries when a document changes between reading its server fields
// and replacing it.
const replaceAttempts = 5

// replaceDocument replaces every client field and keeps the server's: _owner and _createdAt
// come from the stored document, which is replaced only if it has not changed since it was
// read (compare-and-swap on _updatedAt), so a concurrent write is never silently undone.
func (s *Server) replaceDocument(ctx context.Context, ref collectionRef, id bson.ObjectID, data bson.D) (bson.D, error) {
	if err := checkClientDocument(data, s.documentLimits()); err != nil {
		return nil, err
	}
	for range replaceAttempts {
		current, err := ref.coll.FindOne(ctx, ref.byID(id), docstore.FindOptions{
			Projection: bson.D{{Key: "_owner", Value: 1}, {Key: "_createdAt", Value: 1}, {Key: "_updatedAt", Value: 1}}})
		if errors.Is(err, docstore.ErrNotFound) {
			return nil, errDocumentNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("replace document: %w", err)
		}
		doc := append(bson.D{{Key: "_id", Value: id}}, data...)
		for _, k := range []string{"_owner", "_createdAt"} {
			if v, ok := lookupField(current, k); ok {
				doc = append(doc, bson.E{Key: k, Value: v})
			}
		}
		doc = append(doc, bson.E{Key: "_updatedAt", Value: timestamp()})
		updatedAt, ok := lookupField(current, "_updatedAt")
		unchanged := bson.D{{Key: "_id", Value: id}, {Key: "_updatedAt", Value: updatedAt}}
		if !ok {
			unchanged[1] = bson.E{Key: "_updatedAt", Value: bson.D{{Key: "$exists", Value: false}}}
		}
		replaced, err := ref.coll.Replace(ctx, unchanged, doc)
		if errors.Is(err, docstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("replace document: %w", err)
		}
		s.publishDocument(ctx, "update", ref.info, replaced)
		return replaced, nil
	}
	return nil, httpapi.NewError(http.StatusConflict, "write_conflict", "the document kept changing while it was being replaced; try again")
}

// patchDocument merges the sent top-level fields into the document; fields not sent stay.
func (s *Server) patchDocument(ctx context.Context, ref collectionRef, id bson.ObjectID, data bson.D) (bson.D, error) {
	if err := checkClientDocument(data, s.documentLimits()); err != nil {
		return nil, err
	}
	set := append(data, bson.E{Key: "_updatedAt", Value: timestamp()})
	doc, err := ref.coll.Update(ctx, ref.byID(id), docstore.Change{Set: set})
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, errDocumentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("patch document: %w", err)
	}
	s.publishDocument(ctx, "patch", ref.info, doc)
	return doc, nil
}

func (s *Server) deleteDocument(ctx context.Context, ref collectionRef, id bson.ObjectID) (bson.D, error) {
	doc, err := ref.coll.Delete(ctx, ref.byID(id))
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, errDocumentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("delete document: %w", err)
	}
	s.publishDocument(ctx, "delete", ref.info, doc)
	return doc, nil
}
