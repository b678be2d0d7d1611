package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/names"
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

// Valid reports whether r is one of the contract's rules.
func (r Rule) Valid() bool {
	return r == RuleAuthenticated || r == RuleOwner || r == RulePublicRead
}

// metaCollections records which collections exist and their rules. Its name starts with "_",
// which no client collection name can, so it can never be reached as a collection.
const metaCollections = "_collections"

// CollectionInfo is one registered collection.
type CollectionInfo struct {
	Name      string `bson:"_id" json:"name"`
	Rule      Rule   `bson:"rule" json:"rule"`
	CreatedAt string `bson:"_createdAt" json:"_createdAt"`
}

// registry answers "does this collection exist, and what is its rule" for every request. The
// answer comes from the database, so a collection created through another replica is served at
// once; positive answers are cached briefly to spare the database a lookup per request, and a
// miss always asks the database.
type registry struct {
	meta  docstore.Collection
	store docstore.Store
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]cachedCollection
}

type cachedCollection struct {
	info    CollectionInfo
	expires time.Time
}

// collectionCacheTTL bounds how long a rule change made on one replica takes to apply on the
// others.
const collectionCacheTTL = 2 * time.Second

func newRegistry(store docstore.Store) *registry {
	return &registry{
		meta: store.Collection(metaCollections), store: store, ttl: collectionCacheTTL, now: time.Now,
		cache: map[string]cachedCollection{},
	}
}

// lookup returns a registered collection or ErrCollectionNotFound.
func (r *registry) lookup(ctx context.Context, name string) (CollectionInfo, error) {
	if names.Collection(name) != nil {
		return CollectionInfo{}, ErrCollectionNotFound
	}
	r.mu.Lock()
	cached, ok := r.cache[name]
	r.mu.Unlock()
	if ok && r.now().Before(cached.expires) {
		return cached.info, nil
	}
	var info CollectionInfo
	err := findOne(ctx, r.meta, bson.D{{Key: "_id", Value: name}}, docstore.FindOptions{}, &info)
	if errors.Is(err, docstore.ErrNotFound) {
		r.forget(name)
		return CollectionInfo{}, ErrCollectionNotFound
	}
	if err != nil {
		return CollectionInfo{}, fmt.Errorf("look up collection %s: %w", name, err)
	}
	r.remember(info)
	return info, nil
}

func (r *registry) remember(info CollectionInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache[info.Name] = cachedCollection{info: info, expires: r.now().Add(r.ttl)}
}

func (r *registry) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.cache, name)
}

// forgetAll drops every cached answer, after a restore replaced the collections.
func (r *registry) forgetAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.cache)
}

// create registers a collection with the default rule and creates it in the database.
func (r *registry) create(ctx context.Context, name string) (CollectionInfo, error) {
	if err := names.Collection(name); err != nil {
		return CollectionInfo{}, err
	}
	info := CollectionInfo{Name: name, Rule: RuleAuthenticated, CreatedAt: Timestamp()}
	if err := insertValue(ctx, r.meta, info); err != nil {
		if docstore.IsDuplicate(err) {
			return CollectionInfo{}, errCollectionExists(name)
		}
		return CollectionInfo{}, fmt.Errorf("register collection %s: %w", name, err)
	}
	if err := r.store.CreateCollection(ctx, name); err != nil {
		return CollectionInfo{}, fmt.Errorf("create collection %s: %w", name, err)
	}
	r.remember(info)
	return info, nil
}

func errCollectionExists(name string) error {
	return newError(Conflict, "collection_exists", fmt.Sprintf("collection %q already exists", name))
}

// list returns every registered collection, by name.
func (r *registry) list(ctx context.Context) ([]CollectionInfo, error) {
	infos, err := findAll[CollectionInfo](ctx, r.meta, bson.D{}, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	return infos, nil
}

// setRule changes who may use a collection; other replicas follow within collectionCacheTTL.
func (r *registry) setRule(ctx context.Context, name string, rule Rule) (CollectionInfo, error) {
	if !rule.Valid() {
		return CollectionInfo{}, ErrInvalidRule
	}
	doc, err := r.meta.Update(ctx, bson.D{{Key: "_id", Value: name}}, docstore.Change{Set: bson.D{{Key: "rule", Value: rule}}})
	if errors.Is(err, docstore.ErrNotFound) {
		return CollectionInfo{}, ErrCollectionNotFound
	}
	if err != nil {
		return CollectionInfo{}, fmt.Errorf("set rule of %s: %w", name, err)
	}
	var info CollectionInfo
	if err := docstore.Decode(doc, &info); err != nil {
		return CollectionInfo{}, fmt.Errorf("set rule of %s: %w", name, err)
	}
	r.remember(info)
	return info, nil
}

// drop unregisters a collection and deletes its documents. It is unregistered first, so no
// replica serves a half-dropped collection for longer than collectionCacheTTL.
func (r *registry) drop(ctx context.Context, name string) error {
	if _, err := r.meta.Delete(ctx, bson.D{{Key: "_id", Value: name}}); err != nil && !errors.Is(err, docstore.ErrNotFound) {
		return fmt.Errorf("unregister collection %s: %w", name, err)
	}
	r.forget(name)
	if err := r.store.DropCollection(ctx, name); err != nil {
		return fmt.Errorf("drop collection %s: %w", name, err)
	}
	return nil
}

// LookupCollection returns a registered collection, or ErrCollectionNotFound.
func (s *Service) LookupCollection(ctx context.Context, name string) (CollectionInfo, error) {
	return s.collections.lookup(ctx, name)
}

// ListCollections returns every registered collection, by name.
func (s *Service) ListCollections(ctx context.Context) ([]CollectionInfo, error) {
	return s.collections.list(ctx)
}

// CreateCollection registers a collection with the default rule, whatever the quota (the
// operator's way), and tells the admin stream.
func (s *Service) CreateCollection(ctx context.Context, name string) (CollectionInfo, error) {
	info, err := s.collections.create(ctx, name)
	if err == nil {
		s.publishCollection(ctx, "create", info)
	}
	return info, err
}

// SetCollectionRule changes a collection's rule and tells the admin stream.
func (s *Service) SetCollectionRule(ctx context.Context, name string, rule Rule) (CollectionInfo, error) {
	info, err := s.collections.setRule(ctx, name, rule)
	if err == nil {
		s.publishCollection(ctx, "update", info)
	}
	return info, err
}

// CollectionView is a collection as the admin API shows it: with its number of documents.
type CollectionView struct {
	Name      string `json:"name"`
	Rule      Rule   `json:"rule"`
	Count     int64  `json:"count"`
	CreatedAt string `json:"_createdAt"`
}

// ViewCollection counts a collection's documents.
func (s *Service) ViewCollection(ctx context.Context, info CollectionInfo) (CollectionView, error) {
	n, err := s.store.Collection(info.Name).Count(ctx, bson.D{})
	if err != nil {
		return CollectionView{}, fmt.Errorf("count %s: %w", info.Name, err)
	}
	return CollectionView{Name: info.Name, Rule: info.Rule, Count: n, CreatedAt: info.CreatedAt}, nil
}

// DropCollection deletes a collection and all its documents, tells the admin stream, and
// returns the collection as it was.
func (s *Service) DropCollection(ctx context.Context, name string) (CollectionView, error) {
	info, err := s.collections.lookup(ctx, name)
	if err != nil {
		return CollectionView{}, err
	}
	v, err := s.ViewCollection(ctx, info)
	if err != nil {
		return CollectionView{}, err
	}
	if err := s.collections.drop(ctx, info.Name); err != nil {
		return CollectionView{}, err
	}
	s.publishCollection(ctx, "delete", info)
	return v, nil
}

func (s *Service) publishCollection(ctx context.Context, action string, info CollectionInfo) {
	s.Publish(ctx, Event{Kind: KindCollection, Action: action, Collection: info.Name, Message: ClientMessage(action, info.Name, info)})
}
