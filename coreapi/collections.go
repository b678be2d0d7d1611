package coreapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/httpapi"
	"github.com/backpackhq/backpack/tools/names"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Rule says who may read and change a collection's documents.
type Rule string

// The collection rules of the contract.
const (
	// RuleAuthenticated lets any signed-in user read and change every document (the default).
	RuleAuthenticated Rule = "authenticated"
	// RuleOwner lets a signed-in user read and change only the documents they created.
	RuleOwner Rule = "owner"
	// RulePublicRead lets anyone read, and signed-in users change, every document.
	RulePublicRead Rule = "public-read"
)

func (r Rule) valid() bool {
	return r == RuleAuthenticated || r == RuleOwner || r == RulePublicRead
}

// metaCollections records which collections exist and their rules. Its name starts with "_",
// which no client collection name can, so it can never be reached as a collection.
const metaCollections = "_collections"

// collectionInfo is one registered collection.
type collectionInfo struct {
	Name      string `bson:"_id" json:"name"`
	Rule      Rule   `bson:"rule" json:"rule"`
	CreatedAt string `bson:"_createdAt" json:"_createdAt"`
}

// collectionRegistry answers "does this collection exist, and what is its rule" for every
// request. The answer comes from the database, so a collection created through another replica
// is served at once; positive answers are cached briefly to spare the database a lookup per
// request, and a miss always asks the database.
type collectionRegistry struct {
	meta  docstore.Collection
	store docstore.Store
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]cachedCollection
}

type cachedCollection struct {
	info    collectionInfo
	expires time.Time
}

// collectionCacheTTL bounds how long a rule change made on one replica takes to apply on the
// others.
const collectionCacheTTL = 2 * time.Second

func newCollectionRegistry(store docstore.Store) *collectionRegistry {
	return &collectionRegistry{
		meta: store.Collection(metaCollections), store: store, ttl: collectionCacheTTL, now: time.Now,
		cache: map[string]cachedCollection{},
	}
}

// lookup returns a registered collection or errCollectionNotFound.
func (r *collectionRegistry) lookup(ctx context.Context, name string) (collectionInfo, error) {
	if names.Collection(name) != nil {
		return collectionInfo{}, errCollectionNotFound
	}
	r.mu.Lock()
	cached, ok := r.cache[name]
	r.mu.Unlock()
	if ok && r.now().Before(cached.expires) {
		return cached.info, nil
	}
	var info collectionInfo
	err := findOne(ctx, r.meta, bson.D{{Key: "_id", Value: name}}, docstore.FindOptions{}, &info)
	if errors.Is(err, docstore.ErrNotFound) {
		r.forget(name)
		return collectionInfo{}, errCollectionNotFound
	}
	if err != nil {
		return collectionInfo{}, fmt.Errorf("look up collection %s: %w", name, err)
	}
	r.remember(info)
	return info, nil
}

func (r *collectionRegistry) remember(info collectionInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache[info.Name] = cachedCollection{info: info, expires: r.now().Add(r.ttl)}
}

func (r *collectionRegistry) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cache, name)
}

// create registers a collection with the default rule and creates it in the database.
func (r *collectionRegistry) create(ctx context.Context, name string) (collectionInfo, error) {
	if err := names.Collection(name); err != nil {
		return collectionInfo{}, err
	}
	info := collectionInfo{Name: name, Rule: RuleAuthenticated, CreatedAt: timestamp()}
	if err := insertValue(ctx, r.meta, info); err != nil {
		if docstore.IsDuplicate(err) {
			return collectionInfo{}, errCollectionExists(name)
		}
		return collectionInfo{}, fmt.Errorf("register collection %s: %w", name, err)
	}
	if err := r.store.CreateCollection(ctx, name); err != nil {
		return collectionInfo{}, fmt.Errorf("create collection %s: %w", name, err)
	}
	r.remember(info)
	return info, nil
}

func errCollectionExists(name string) error {
	return httpapi.NewError(http.StatusConflict, "collection_exists", fmt.Sprintf("collection %q already exists", name))
}

// list returns every registered collection, by name.
func (r *collectionRegistry) list(ctx context.Context) ([]collectionInfo, error) {
	infos, err := findAll[collectionInfo](ctx, r.meta, bson.D{}, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return infos, nil
}

var errInvalidRule = httpapi.BadRequest("invalid_rule", fmt.Sprintf("rule must be %q, %q or %q", RuleAuthenticated, RuleOwner, RulePublicRead))

// setRule changes who may use a collection; other replicas follow within collectionCacheTTL.
func (r *collectionRegistry) setRule(ctx context.Context, name string, rule Rule) (collectionInfo, error) {
	if !rule.valid() {
		return collectionInfo{}, errInvalidRule
	}
	doc, err := r.meta.Update(ctx, bson.D{{Key: "_id", Value: name}}, docstore.Change{Set: bson.D{{Key: "rule", Value: rule}}})
	if errors.Is(err, docstore.ErrNotFound) {
		return collectionInfo{}, errCollectionNotFound
	}
	if err != nil {
		return collectionInfo{}, fmt.Errorf("set rule of %s: %w", name, err)
	}
	var info collectionInfo
	if err := docstore.Decode(doc, &info); err != nil {
		return collectionInfo{}, fmt.Errorf("set rule of %s: %w", name, err)
	}
	r.remember(info)
	return info, nil
}

// drop unregisters a collection and deletes its documents. It is unregistered first, so no
// replica serves a half-dropped collection for longer than collectionCacheTTL.
func (r *collectionRegistry) drop(ctx context.Context, name string) error {
	if _, err := r.meta.Delete(ctx, bson.D{{Key: "_id", Value: name}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("unregister collection %s: %w", name, err)
	}
	r.forget(name)
	if err := r.store.DropCollection(ctx, name); err != nil {
		return fmt.Errorf("drop collection %s: %w", name, err)
	}
	return nil
}

// createCollection registers a collection and tells the admin stream.
func (s *Server) createCollection(ctx context.Context, name string) (collectionInfo, error) {
	info, err := s.collections.create(ctx, name)
	if err == nil {
		s.publishCollection(ctx, "create", info)
	}
	return info, err
}

// setCollectionRule changes a collection's rule and tells the admin stream.
func (s *Server) setCollectionRule(ctx context.Context, name string, rule Rule) (collectionInfo, error) {
	info, err := s.collections.setRule(ctx, name, rule)
	if err == nil {
		s.publishCollection(ctx, "update", info)
	}
	return info, err
}

func (s *Server) publishCollection(ctx context.Context, action string, info collectionInfo) {
	s.publish(ctx, event{Kind: kindCollection, Action: action, Collection: info.Name, Message: clientMessage(action, info.Name, info)})
}

type createCollectionRequest struct {
	Name string `json:"name"`
}

func (s *Server) handleListCollections(c echo.Context) error {
	if sessionUser(c) == "" {
		return errNotSignedIn
	}
	infos, err := s.collections.list(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, infos)
}

func (s *Server) handleCreateCollection(c echo.Context) error {
	if sessionUser(c) == "" {
		return errNotSignedIn
	}
	var req createCollectionRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	info, err := s.createCollectionWithinQuota(c.Request().Context(), req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, info)
}
