package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/jsondoc"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Caller is who performs an operation: an end user (UserID "" when anonymous, Session the key
// of the session they came with), or the backend's operator (Admin), to whom no collection
// rule applies.
type Caller struct {
	UserID  string
	Session string
	Admin   bool
}

// AdminCaller is the operator, on the admin port.
var AdminCaller = Caller{Admin: true}

// Documents is a collection opened for one caller: the scope is added to every filter, so an
// owner-rule collection only ever shows a user their own documents.
type Documents struct {
	s     *Service
	info  CollectionInfo
	coll  docstore.Collection
	scope bson.D
	who   Caller
}

// Info is the collection's registration.
func (d Documents) Info() CollectionInfo { return d.info }

// Documents resolves a collection and checks the caller may read it, or write to it.
func (s *Service) Documents(ctx context.Context, name string, who Caller, write bool) (Documents, error) {
	info, err := s.collections.lookup(ctx, name)
	if err != nil {
		return Documents{}, err
	}
	d := Documents{s: s, info: info, coll: s.store.Collection(info.Name), who: who}
	if who.Admin {
		return d, nil
	}
	if who.UserID == "" && (write || info.Rule != RulePublicRead) {
		return Documents{}, ErrNotSignedIn
	}
	if info.Rule == RuleOwner {
		d.scope = bson.D{{Key: "_owner", Value: who.UserID}}
	}
	return d, nil
}

// byID is the filter for one document within what the caller may see.
func (d Documents) byID(id bson.ObjectID) bson.D {
	return and(bson.D{{Key: "_id", Value: id}}, d.scope)
}

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

// Query is a validated listing: filter, sort and projection (as tools/filter checked them),
// paging, and whether to count every match.
type Query struct {
	Filter bson.D
	Sort   bson.D
	Fields bson.D
	Limit  int64
	Skip   int64
	Count  bool
}

// Find lists what the caller may see; total is -1 unless q.Count is set.
func (d Documents) Find(ctx context.Context, q Query) (docs []bson.D, total int64, err error) {
	f := and(q.Filter, d.scope)
	docs, err = d.coll.Find(ctx, f, docstore.FindOptions{Sort: q.Sort, Projection: q.Fields, Skip: q.Skip, Limit: q.Limit})
	if err != nil {
		return nil, 0, queryError(err)
	}
	if docs == nil {
		docs = []bson.D{}
	}
	total = -1
	if q.Count {
		if total, err = d.coll.Count(ctx, f); err != nil {
			return nil, 0, queryError(err)
		}
	}
	return docs, total, nil
}

// queryError turns a database's refusal of a validated query (a regular expression its engine
// rejects, say) into ErrInvalidQuery, without passing the engine's message on.
func queryError(err error) error {
	if errors.Is(err, docstore.ErrInvalidQuery) {
		return ErrInvalidQuery
	}
	return fmt.Errorf("query: %w", err)
}

// Get returns one document the caller may see.
func (d Documents) Get(ctx context.Context, id bson.ObjectID) (bson.D, error) {
	doc, err := d.coll.FindOne(ctx, d.byID(id), docstore.FindOptions{})
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, ErrDocumentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get document: %w", err)
	}
	return doc, nil
}

// Create stores a client's document with the server's fields and broadcasts it.
func (d Documents) Create(ctx context.Context, data bson.D) (bson.D, error) {
	return d.insert(ctx, data, "create")
}

// insert is Create with the action its broadcast names (CreateChannel announces a channel
// document as such).
func (d Documents) insert(ctx context.Context, data bson.D, action string) (bson.D, error) {
	if err := checkClientDocument(data, d.s.cfg.DocumentLimits); err != nil {
		return nil, err
	}
	data, err := d.before(ctx, HookCreate, data, nil)
	if err != nil {
		return nil, err
	}
	now := Timestamp()
	doc := append(bson.D{{Key: "_id", Value: bson.NewObjectID()}}, data...)
	if !d.who.Admin {
		doc = append(doc, bson.E{Key: "_owner", Value: d.who.UserID})
	}
	doc = append(doc, bson.E{Key: "_createdAt", Value: now}, bson.E{Key: "_updatedAt", Value: now})
	if err := d.coll.Insert(ctx, doc); err != nil {
		return nil, fmt.Errorf("create document: %w", err)
	}
	d.s.publishDocument(ctx, action, d.info, doc)
	d.after(ctx, HookCreate, doc, nil)
	return doc, nil
}

// replaceAttempts bounds retries when a document changes between reading its server fields
// and replacing it.
const replaceAttempts = 5

// Replace replaces every client field and keeps the server's: _owner and _createdAt come from
// the stored document, which is replaced only if it has not changed since it was read
// (compare-and-swap on _updatedAt), so a concurrent write is never silently undone.
func (d Documents) Replace(ctx context.Context, id bson.ObjectID, data bson.D) (bson.D, error) {
	if err := checkClientDocument(data, d.s.cfg.DocumentLimits); err != nil {
		return nil, err
	}
	return d.swap(ctx, id, func(bson.D) bson.D { return data }, "update")
}

// swap replaces a document with what next makes of the stored one, keeping the server's
// fields, compare-and-swap on _updatedAt: a concurrent write makes it read and try again. A
// beforeUpdate hook sees next's document and the stored one, and runs again on each try.
func (d Documents) swap(ctx context.Context, id bson.ObjectID, next func(old bson.D) bson.D, action string) (bson.D, error) {
	hooked := d.wants(HookUpdate, true) || d.wants(HookUpdate, false)
	for range replaceAttempts {
		opts := docstore.FindOptions{}
		if !hooked {
			opts.Projection = bson.D{{Key: "_owner", Value: 1}, {Key: "_createdAt", Value: 1}, {Key: "_updatedAt", Value: 1}}
		}
		current, err := d.coll.FindOne(ctx, d.byID(id), opts)
		if errors.Is(err, docstore.ErrNotFound) {
			return nil, ErrDocumentNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("replace document: %w", err)
		}
		data, err := d.before(ctx, HookUpdate, next(current), current)
		if err != nil {
			return nil, err
		}
		doc := append(bson.D{{Key: "_id", Value: id}}, data...)
		for _, k := range []string{"_owner", "_createdAt"} {
			if v, ok := lookupField(current, k); ok {
				doc = append(doc, bson.E{Key: k, Value: v})
			}
		}
		doc = append(doc, bson.E{Key: "_updatedAt", Value: Timestamp()})
		updatedAt, ok := lookupField(current, "_updatedAt")
		unchanged := bson.D{{Key: "_id", Value: id}, {Key: "_updatedAt", Value: updatedAt}}
		if !ok {
			unchanged[1] = bson.E{Key: "_updatedAt", Value: bson.D{{Key: "$exists", Value: false}}}
		}
		replaced, err := d.coll.Replace(ctx, unchanged, doc)
		if errors.Is(err, docstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("replace document: %w", err)
		}
		d.s.publishDocument(ctx, action, d.info, replaced)
		d.after(ctx, HookUpdate, replaced, current)
		return replaced, nil
	}
	return nil, ErrWriteConflict
}

// Patch merges the sent top-level fields into the document; fields not sent stay. With an
// update hook deployed it is a replace of the merged document, so the hook sees it whole.
func (d Documents) Patch(ctx context.Context, id bson.ObjectID, data bson.D) (bson.D, error) {
	if err := checkClientDocument(data, d.s.cfg.DocumentLimits); err != nil {
		return nil, err
	}
	if d.wants(HookUpdate, true) || d.wants(HookUpdate, false) {
		return d.swap(ctx, id, func(old bson.D) bson.D { return mergeTop(clientFields(old), data) }, "patch")
	}
	set := append(data, bson.E{Key: "_updatedAt", Value: Timestamp()})
	doc, err := d.coll.Update(ctx, d.byID(id), docstore.Change{Set: set})
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, ErrDocumentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("patch document: %w", err)
	}
	d.s.publishDocument(ctx, "patch", d.info, doc)
	return doc, nil
}

// mergeTop is doc with patch's top-level fields set: replaced in place, or added at the end.
func mergeTop(doc, patch bson.D) bson.D {
	out := append(bson.D{}, doc...)
	for _, p := range patch {
		i := slices.IndexFunc(out, func(e bson.E) bool { return e.Key == p.Key })
		if i >= 0 {
			out[i] = p
		} else {
			out = append(out, p)
		}
	}
	return out
}

// Delete removes one document the caller may see and returns it. A beforeDelete hook sees the
// stored document first and may refuse.
func (d Documents) Delete(ctx context.Context, id bson.ObjectID) (bson.D, error) {
	filter := d.byID(id)
	if d.wants(HookDelete, true) {
		current, err := d.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if _, err := d.before(ctx, HookDelete, nil, current); err != nil {
			return nil, err
		}
		updatedAt, _ := lookupField(current, "_updatedAt")
		filter = and(filter, bson.D{{Key: "_updatedAt", Value: updatedAt}})
	}
	doc, err := d.coll.Delete(ctx, filter)
	if errors.Is(err, docstore.ErrNotFound) {
		return nil, ErrDocumentNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("delete document: %w", err)
	}
	d.s.publishDocument(ctx, "delete", d.info, doc)
	d.after(ctx, HookDelete, nil, doc)
	return doc, nil
}

// DocumentLimits are the complexity limits every stored client document must keep.
func (s *Service) DocumentLimits() jsondoc.Limits { return s.cfg.DocumentLimits }

// serverFields are managed by the API; clients may read them but never set them.
var serverFields = map[string]bool{"_id": true, "_owner": true, "_createdAt": true, "_updatedAt": true}

// checkClientDocument refuses documents beyond the complexity limits, server-managed fields at
// the top level and, at any depth, field names Mongo treats specially ("$…", dotted paths) or
// cannot store.
func checkClientDocument(doc bson.D, lim jsondoc.Limits) error {
	if err := jsondoc.CheckComplexity(doc, lim); err != nil {
		return err
	}
	for _, e := range doc {
		if serverFields[e.Key] {
			return &Error{Kind: Invalid, Code: "protected_field",
				Message: fmt.Sprintf("%s is set by the server and cannot be sent", e.Key), Details: map[string]any{"field": e.Key}}
		}
	}
	return checkFieldNames(doc, "")
}

func checkFieldNames(v any, path string) error {
	switch t := v.(type) {
	case bson.D:
		for _, e := range t {
			p := e.Key
			if path != "" {
				p = path + "." + e.Key
			}
			if e.Key == "" || strings.HasPrefix(e.Key, "$") || strings.ContainsAny(e.Key, ".\x00") {
				return &Error{Kind: Invalid, Code: "invalid_field_name",
					Message: fmt.Sprintf("field name %q is not allowed: it must be non-empty, not start with '$' and contain no '.'", e.Key),
					Details: map[string]any{"field": p}}
			}
			if err := checkFieldNames(e.Value, p); err != nil {
				return err
			}
		}
	case bson.A:
		for _, x := range t {
			if err := checkFieldNames(x, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// TimestampLayout is RFC 3339 in UTC with fixed millisecond precision, so stored timestamps
// sort correctly as strings and compare correctly in filters.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// Timestamp is now, in TimestampLayout.
func Timestamp() string { return time.Now().UTC().Format(TimestampLayout) }
