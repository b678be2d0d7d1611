package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/names"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Quotas cap what a backend's end users can create, so that one app (or one user of it) cannot
// fill the disk or the database the platform shares. A zero field means unlimited. The admin
// port is trusted and is not held to them: an operator may go over a quota on purpose.
type Quotas struct {
	// Collections caps how many collections exist (POST /collections).
	Collections int64 `json:"collections"`
	// FileBytes caps the total size of all users' files together.
	FileBytes int64 `json:"fileBytes"`
	// UserFileBytes caps the total size of one user's files.
	UserFileBytes int64 `json:"userFileBytes"`
}

// The quotas a backend starts with; its runtime settings (PATCH /admin/settings) override them.
const (
	DefaultQuotaCollections   = 100
	DefaultQuotaFileBytes     = 1 << 30
	DefaultQuotaUserFileBytes = 100 << 20
)

// DefaultQuotas returns the quotas of a backend whose configuration names none.
func DefaultQuotas() Quotas {
	return Quotas{Collections: DefaultQuotaCollections, FileBytes: DefaultQuotaFileBytes, UserFileBytes: DefaultQuotaUserFileBytes}
}

// Validate refuses negative quotas in a configuration.
func (q Quotas) Validate() error {
	if q.Collections < 0 || q.FileBytes < 0 || q.UserFileBytes < 0 {
		return errors.New("config: quotas must not be negative (0 means unlimited)")
	}
	return nil
}

// storedQuotas are the quotas set at runtime; a field never set follows the configuration.
type storedQuotas struct {
	Collections   *int64 `bson:"collections,omitempty"`
	FileBytes     *int64 `bson:"fileBytes,omitempty"`
	UserFileBytes *int64 `bson:"userFileBytes,omitempty"`
}

// QuotasPatch is the "quotas" member of PATCH /admin/settings: the fields sent change, the
// others stay.
type QuotasPatch struct {
	Collections   *int64 `json:"collections"`
	FileBytes     *int64 `json:"fileBytes"`
	UserFileBytes *int64 `json:"userFileBytes"`
}

// QuotaUsage is what the quotas are measured against, as GET /admin/settings reports it.
type QuotaUsage struct {
	Collections int64 `json:"collections"`
	FileBytes   int64 `json:"fileBytes"`
}

// Quotas are the quotas in force on this replica: the configuration's, overridden field by
// field by the stored settings.
func (ls *Settings) Quotas() Quotas {
	q := ls.defaultQuotas
	st := ls.stored.Load().Quotas
	for _, f := range []struct {
		dst *int64
		src *int64
	}{{&q.Collections, st.Collections}, {&q.FileBytes, st.FileBytes}, {&q.UserFileBytes, st.UserFileBytes}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	return q
}

type namedQuota struct {
	name string
	v    *int64
}

func (p QuotasPatch) fields() []namedQuota {
	return []namedQuota{{"collections", p.Collections}, {"fileBytes", p.FileBytes}, {"userFileBytes", p.UserFileBytes}}
}

// validate refuses a quota that is not 0 (unlimited) or more; whole numbers are the decoder's
// business.
func (p QuotasPatch) validate() error {
	for _, f := range p.fields() {
		if f.v != nil && *f.v < 0 {
			return &Error{Kind: Invalid, Code: "invalid_quota",
				Message: fmt.Sprintf("quota %q must be 0 (unlimited) or more", f.name), Details: map[string]any{"quota": f.name}}
		}
	}
	return nil
}

// setQuotas stores the quotas sent (validated first).
func (ls *Settings) setQuotas(ctx context.Context, p QuotasPatch) error {
	var set bson.D
	for _, f := range p.fields() {
		if f.v != nil {
			set = append(set, bson.E{Key: "quotas." + f.name, Value: *f.v})
		}
	}
	if len(set) == 0 {
		return nil
	}
	return ls.update(ctx, set)
}

// quotaExceeded is the refusal of a create that would take usage over a quota.
func quotaExceeded(quota, what string, limit, used int64) *Error {
	return &Error{Kind: Forbidden, Code: "quota_exceeded",
		Message: fmt.Sprintf("%s would go over this backend's quota (%s: %d, in use: %d); delete something or ask its owner to raise the quota", what, quota, limit, used),
		Details: map[string]any{"quota": quota, "limit": limit, "used": used}}
}

// usage measures what the quotas count.
func (s *Service) usage(ctx context.Context) (QuotaUsage, error) {
	n, err := s.collections.meta.Count(ctx, bson.D{})
	if err != nil {
		return QuotaUsage{}, fmt.Errorf("count collections: %w", err)
	}
	b, err := s.files.usedBytes(ctx, bson.D{})
	if err != nil {
		return QuotaUsage{}, err
	}
	return QuotaUsage{Collections: n, FileBytes: b}, nil
}

// CreateCollectionWithinQuota is the end users' way to create a collection: the count is taken
// and the collection registered under the backend-wide collections lock, so parallel creates on
// any replicas cannot go past the quota.
func (s *Service) CreateCollectionWithinQuota(ctx context.Context, name string) (CollectionInfo, error) {
	limit := s.settings.Quotas().Collections
	if limit == 0 {
		return s.CreateCollection(ctx, name)
	}
	if err := names.Collection(name); err != nil {
		return CollectionInfo{}, err
	}
	unlock, err := s.locks.acquire(ctx, "collections")
	if err != nil {
		return CollectionInfo{}, err
	}
	defer unlock()
	// An existing name is a conflict, not a quota matter; the database answers, not the cache,
	// which may still remember a collection dropped through another replica.
	exists, err := s.collections.meta.Count(ctx, bson.D{{Key: "_id", Value: name}})
	if err != nil {
		return CollectionInfo{}, fmt.Errorf("look up collection %s: %w", name, err)
	}
	if exists > 0 {
		return CollectionInfo{}, errCollectionExists(name)
	}
	n, err := s.collections.meta.Count(ctx, bson.D{})
	if err != nil {
		return CollectionInfo{}, fmt.Errorf("count collections: %w", err)
	}
	if n >= limit {
		return CollectionInfo{}, quotaExceeded("collections", "Another collection", limit, n)
	}
	return s.CreateCollection(ctx, name)
}

// lockFileQuota takes the backend-wide files lock when a byte quota is in force. Under it the
// caller measures usage (checkFileQuota) and records the file, so parallel uploads on any
// replicas are counted one after the other and cannot go past a quota together. Receiving the
// bytes happens before, outside the lock; only the check and the recording wait for it.
func (s *Service) lockFileQuota(ctx context.Context) (func(), error) {
	if q := s.settings.Quotas(); q.FileBytes == 0 && q.UserFileBytes == 0 {
		return func() {}, nil
	}
	return s.locks.acquire(ctx, "files")
}

// checkFileQuota refuses growing owner's files by grow bytes if that would pass the backend's
// or the user's byte quota. Call it holding lockFileQuota's lock.
func (s *Service) checkFileQuota(ctx context.Context, owner string, grow int64) error {
	if grow <= 0 {
		return nil
	}
	q := s.settings.Quotas()
	if q.FileBytes > 0 {
		used, err := s.files.usedBytes(ctx, bson.D{})
		if err != nil {
			return err
		}
		if used+grow > q.FileBytes {
			return quotaExceeded("fileBytes", "This file", q.FileBytes, used)
		}
	}
	if q.UserFileBytes > 0 {
		used, err := s.files.usedBytes(ctx, bson.D{{Key: "owner", Value: owner}})
		if err != nil {
			return err
		}
		if used+grow > q.UserFileBytes {
			return quotaExceeded("userFileBytes", "This file", q.UserFileBytes, used)
		}
	}
	return nil
}

// usedBytes is the total size of the recorded files matching f.
func (fs *fileStore) usedBytes(ctx context.Context, f bson.D) (int64, error) {
	total, err := fs.meta.Sum(ctx, f, "size")
	if err != nil {
		return 0, fmt.Errorf("sum file sizes: %w", err)
	}
	return total, nil
}

// metaLocks holds the backend-wide locks that make a quota check and the create it allows one
// step for every replica. A lock is a document: inserting it takes the lock (the unique _id
// makes that atomic on every engine, FerretDB included, where a conditional update is not),
// deleting it releases it.
const metaLocks = "_locks"

// lockTTL is how long a lock stands if its holder dies without releasing it; the work done
// under a lock is a few database writes and a rename.
const lockTTL = 30 * time.Second

// lockWait is how long a request waits for a lock before it is told to retry.
const lockWait = 15 * time.Second

type dbLocks struct {
	coll docstore.Collection
}

type lockDoc struct {
	ID      string    `bson:"_id"`
	Token   string    `bson:"token"`
	Expires time.Time `bson:"expires"`
}

// acquire takes the named lock, waiting for its holder (with a growing, jittered pause), and
// returns its release. A lock left by a holder that died is taken over once it expires.
func (l dbLocks) acquire(ctx context.Context, name string) (func(), error) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	deadline := time.Now().Add(lockWait)
	pause := 5 * time.Millisecond
	for {
		err := insertValue(ctx, l.coll, lockDoc{ID: name, Token: token, Expires: time.Now().Add(lockTTL)})
		if err == nil {
			return func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_, _ = l.coll.Delete(rctx, bson.D{{Key: "_id", Value: name}, {Key: "token", Value: token}})
			}, nil
		}
		if !docstore.IsDuplicate(err) {
			return nil, fmt.Errorf("take the %s lock: %w", name, err)
		}
		var held lockDoc
		if err := findOne(ctx, l.coll, bson.D{{Key: "_id", Value: name}}, docstore.FindOptions{}, &held); err == nil && time.Now().After(held.Expires) {
			_, _ = l.coll.Delete(ctx, bson.D{{Key: "_id", Value: name}, {Key: "token", Value: held.Token}})
			continue
		}
		if time.Now().After(deadline) {
			return nil, ErrBusy
		}
		jitter, _ := rand.Int(rand.Reader, big.NewInt(int64(pause)))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause + time.Duration(jitter.Int64())):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}
