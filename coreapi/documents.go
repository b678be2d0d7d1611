package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/backpackhq/backpack/tools/filter"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Listing limits of the contract.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
	maxListSkip      = 1_000_000
	listTimeout      = 15 * time.Second
)

// collectionAccess resolves the collection named in the path and checks the caller may use it
// for reading or writing. It returns the collection, the caller's user id ("" for an anonymous
// reader of a public-read collection) and the filter that scopes queries to what the caller
// may see.
func (s *Server) collectionAccess(c echo.Context, write bool) (*mongo.Collection, string, bson.D, error) {
	info, err := s.collections.lookup(c.Request().Context(), c.Param("collection"))
	if err != nil {
		return nil, "", nil, err
	}
	uid := sessionUser(c)
	if uid == "" && (write || info.Rule != RulePublicRead) {
		return nil, "", nil, errNotSignedIn
	}
	var scope bson.D
	if info.Rule == RuleOwner {
		scope = bson.D{{Key: "_owner", Value: uid}}
	}
	return s.db.Collection(info.Name), uid, scope, nil
}

// and combines two filters; either may be empty, and the result is never nil (the driver
// cannot encode a nil filter for every command).
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

func documentID(c echo.Context) (bson.ObjectID, error) {
	id, err := bson.ObjectIDFromHex(c.Param("id"))
	if err != nil {
		return id, badRequest("invalid_id", "document ids are 24 hexadecimal characters")
	}
	return id, nil
}

// listQuery is the validated form of GET /:collection's query string.
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
			return lq, badRequest("invalid_query", fmt.Sprintf("unknown query parameter %q (use filter, sort, limit, skip, fields, count)", k))
		}
		if len(v) > 1 {
			return lq, badRequest("invalid_query", fmt.Sprintf("query parameter %q is given more than once", k))
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
		return lq, badRequest("invalid_query", "count must be true or false")
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
		return 0, badRequest("invalid_query", fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi))
	}
	return n, nil
}

func (s *Server) listDocuments(c echo.Context) error {
	coll, _, scope, err := s.collectionAccess(c, false)
	if err != nil {
		return err
	}
	lq, err := parseListQuery(c.QueryParams())
	if err != nil {
		return err
	}
	// A client's regular expression runs on the database's engine; bound how long it may run.
	ctx, cancel := context.WithTimeout(c.Request().Context(), listTimeout)
	defer cancel()
	f := and(lq.filter, scope)
	opts := options.Find().SetLimit(lq.limit).SetSkip(lq.skip)
	if lq.sort != nil {
		opts.SetSort(lq.sort)
	}
	if lq.fields != nil {
		opts.SetProjection(lq.fields)
	}
	docs, err := findAll(ctx, coll, f, opts)
	if err != nil {
		return queryError(err)
	}
	if lq.count {
		n, err := coll.CountDocuments(ctx, f)
		if err != nil {
			return queryError(err)
		}
		c.Response().Header().Set("X-Total-Count", strconv.FormatInt(n, 10))
	}
	return writeBSON(c, http.StatusOK, docs)
}

func findAll(ctx context.Context, coll *mongo.Collection, f bson.D, opts *options.FindOptionsBuilder) ([]bson.D, error) {
	cur, err := coll.Find(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	docs := []bson.D{}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	return docs, nil
}

// queryError turns a database's refusal of a validated query (a regular expression its engine
// rejects, say) into a 400, without passing the driver's message on.
func queryError(err error) error {
	var ce mongo.CommandError
	if errors.As(err, &ce) && !ce.HasErrorLabel("NetworkError") && ce.Code != 0 && ce.Code < 1000 && ce.Code != 50 {
		return badRequest("invalid_query", "the database could not run this query; check the filter, sort and fields")
	}
	return fmt.Errorf("query: %w", err)
}

func (s *Server) getDocument(c echo.Context) error {
	coll, _, scope, err := s.collectionAccess(c, false)
	if err != nil {
		return err
	}
	id, err := documentID(c)
	if err != nil {
		return err
	}
	var doc bson.D
	err = coll.FindOne(c.Request().Context(), and(bson.D{{Key: "_id", Value: id}}, scope)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return errDocumentNotFound
	}
	if err != nil {
		return fmt.Errorf("get document: %w", err)
	}
	return writeBSON(c, http.StatusOK, doc)
}

func (s *Server) createDocument(c echo.Context) error {
	coll, uid, _, err := s.collectionAccess(c, true)
	if err != nil {
		return err
	}
	data, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	now := timestamp()
	doc := append(bson.D{{Key: "_id", Value: bson.NewObjectID()}}, data...)
	doc = append(doc, bson.E{Key: "_owner", Value: uid}, bson.E{Key: "_createdAt", Value: now}, bson.E{Key: "_updatedAt", Value: now})
	if _, err := coll.InsertOne(c.Request().Context(), doc); err != nil {
		return fmt.Errorf("create document: %w", err)
	}
	return writeBSON(c, http.StatusCreated, doc)
}

// replaceAttempts bounds retries when a document changes between reading its server fields
// and replacing it.
const replaceAttempts = 5

// replaceDocument replaces every client field and keeps the server's: _owner and _createdAt
// come from the stored document, which is replaced only if it has not changed since it was
// read (compare-and-swap on _updatedAt), so a concurrent write is never silently undone.
func (s *Server) replaceDocument(c echo.Context) error {
	coll, _, scope, err := s.collectionAccess(c, true)
	if err != nil {
		return err
	}
	id, err := documentID(c)
	if err != nil {
		return err
	}
	data, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	for range replaceAttempts {
		var current bson.M
		err := coll.FindOne(ctx, and(bson.D{{Key: "_id", Value: id}}, scope),
			options.FindOne().SetProjection(bson.D{{Key: "_owner", Value: 1}, {Key: "_createdAt", Value: 1}, {Key: "_updatedAt", Value: 1}})).Decode(&current)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return errDocumentNotFound
		}
		if err != nil {
			return fmt.Errorf("replace document: %w", err)
		}
		doc := append(bson.D{{Key: "_id", Value: id}}, data...)
		for _, k := range []string{"_owner", "_createdAt"} {
			if v, ok := current[k]; ok {
				doc = append(doc, bson.E{Key: k, Value: v})
			}
		}
		doc = append(doc, bson.E{Key: "_updatedAt", Value: timestamp()})
		unchanged := bson.D{{Key: "_id", Value: id}, {Key: "_updatedAt", Value: current["_updatedAt"]}}
		if _, ok := current["_updatedAt"]; !ok {
			unchanged[1] = bson.E{Key: "_updatedAt", Value: bson.D{{Key: "$exists", Value: false}}}
		}
		var replaced bson.D
		err = coll.FindOneAndReplace(ctx, unchanged, doc, options.FindOneAndReplace().SetReturnDocument(options.After)).Decode(&replaced)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue
		}
		if err != nil {
			return fmt.Errorf("replace document: %w", err)
		}
		return writeBSON(c, http.StatusOK, replaced)
	}
	return apiError(http.StatusConflict, "write_conflict", "the document kept changing while it was being replaced; try again")
}

// patchDocument merges the sent top-level fields into the document; fields not sent stay.
func (s *Server) patchDocument(c echo.Context) error {
	coll, _, scope, err := s.collectionAccess(c, true)
	if err != nil {
		return err
	}
	id, err := documentID(c)
	if err != nil {
		return err
	}
	data, err := s.decodeDocument(c)
	if err != nil {
		return err
	}
	set := append(data, bson.E{Key: "_updatedAt", Value: timestamp()})
	var doc bson.D
	err = coll.FindOneAndUpdate(c.Request().Context(), and(bson.D{{Key: "_id", Value: id}}, scope),
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return errDocumentNotFound
	}
	if err != nil {
		return fmt.Errorf("patch document: %w", err)
	}
	return writeBSON(c, http.StatusOK, doc)
}

func (s *Server) deleteDocument(c echo.Context) error {
	coll, _, scope, err := s.collectionAccess(c, true)
	if err != nil {
		return err
	}
	id, err := documentID(c)
	if err != nil {
		return err
	}
	var doc bson.D
	err = coll.FindOneAndDelete(c.Request().Context(), and(bson.D{{Key: "_id", Value: id}}, scope)).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return errDocumentNotFound
	}
	if err != nil {
		return fmt.Errorf("delete document: %w", err)
	}
	return writeBSON(c, http.StatusOK, doc)
}
