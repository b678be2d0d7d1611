package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A restore is announced by a marker document in metaBackend, beside the incarnation: every
// replica reads both at most once per restoreCheckEvery (and at once on a KindRestore event),
// so while the marker is there every replica answers ErrRestoring, and when the incarnation
// changes every replica drops what it cached of the data before.
const restoreMarkerDoc = "restore"

// Timing of the restore marker.
const (
	// restoreCheckEvery is how stale a replica's view of the marker may be.
	restoreCheckEvery = time.Second
	// restoreHeartbeat is how often the restoring replica shows it is still at work, and
	// restoreStale how long without a beat before another restore may take over.
	restoreHeartbeat = 5 * time.Second
	restoreStale     = 30 * time.Second
)

// ErrRestoring is every answer of a backend while its data is being replaced.
var ErrRestoring = &Error{Kind: Unavailable, Code: "restoring",
	Message: "the backend is being restored from a backup; try again in a moment"}

// ErrRestoreInProgress refuses a second restore while one runs.
var ErrRestoreInProgress = newError(Conflict, "restore_in_progress", "a restore of this backend is already running")

// errRestoreInterrupted is the answer while the marker of a restore whose replica stopped
// (or whose undo failed) stays: the data may be half replaced, so nothing is served until a
// restore succeeds.
func errRestoreInterrupted(reason string) *Error {
	return &Error{Kind: Unavailable, Code: "restoring",
		Message: "a restore of this backend did not finish (" + reason + "); restore a backup again to bring it back"}
}

// restoreMarker is the marker document.
type restoreMarker struct {
	ID    string `bson:"_id"`
	Token string `bson:"token"`
	// Beat is the restoring replica's last sign of life, in Unix milliseconds.
	Beat int64 `bson:"beat"`
	// Failed says why a restore stopped with its undo failed too; the marker then stays.
	Failed string `bson:"failed,omitempty"`
}

// restoreView is what one replica last read of the marker and the incarnation.
type restoreView struct {
	mu      sync.Mutex
	checked time.Time
	marker  *restoreMarker
	// own is set on the replica running a restore, so its own requests are refused too.
	own bool
}

// RestoreCheck says whether the backend may serve requests now: nil, or ErrRestoring (or an
// interrupted restore's refusal). It reads the database at most once per restoreCheckEvery;
// when it finds that the incarnation changed (a restore finished on another replica, whose
// event did not reach this one), it drops this replica's caches and returns restored true, so
// the caller drops its own (connections, functions, settings).
func (s *Service) RestoreCheck(ctx context.Context) (restored bool, err error) {
	v := &s.restore
	v.mu.Lock()
	defer v.mu.Unlock()
	if time.Since(v.checked) >= restoreCheckEvery {
		if restored, err = s.refreshRestoreView(ctx); err != nil {
			return false, err
		}
	}
	switch {
	case v.own:
		return restored, ErrRestoring
	case v.marker == nil:
		return restored, nil
	case v.marker.Failed != "":
		return restored, errRestoreInterrupted(v.marker.Failed)
	case time.Since(time.UnixMilli(v.marker.Beat)) > restoreStale:
		return restored, errRestoreInterrupted("the replica running it stopped")
	}
	return restored, ErrRestoring
}

// RestoreEvent brings this replica's view up to date at once, when an event says a restore
// started or ended; restored as in RestoreCheck.
func (s *Service) RestoreEvent(ctx context.Context) (restored bool, err error) {
	s.restore.mu.Lock()
	defer s.restore.mu.Unlock()
	return s.refreshRestoreView(ctx)
}

// refreshRestoreView reads the marker and the incarnation; s.restore.mu is held.
func (s *Service) refreshRestoreView(ctx context.Context) (restored bool, err error) {
	docs, err := s.store.Collection(metaBackend).Find(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{restoreMarkerDoc, incarnationDoc}}}}}, docstore.FindOptions{})
	if err != nil {
		return false, fmt.Errorf("read restore state: %w", err)
	}
	v := &s.restore
	v.marker = nil
	for _, doc := range docs {
		id, _ := lookupField(doc, "_id")
		switch id {
		case restoreMarkerDoc:
			var m restoreMarker
			if err := docstore.Decode(doc, &m); err != nil {
				return false, fmt.Errorf("decode restore marker: %w", err)
			}
			v.marker = &m
		case incarnationDoc:
			inc := StringField(doc, "value")
			if inc != "" && inc != s.Incarnation() {
				s.adoptIncarnation(inc)
				restored = true
			}
		}
	}
	v.checked = time.Now()
	return restored, nil
}

// adoptIncarnation switches this replica to the database's new incarnation (after a
// restore): sessions of the old one end, and nothing cached of the old data is used again.
func (s *Service) adoptIncarnation(inc string) {
	s.incarnation.Store(&inc)
	s.collections.forgetAll()
	s.liveUsers.forgetAll()
}

// claimRestore puts this replica's marker in place: a running restore refuses it, one whose
// replica stopped beating (or whose undo failed) is taken over. The returned function keeps
// the marker beating until it is called.
func (s *Service) claimRestore(ctx context.Context) (token string, stopBeat func(), err error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token = hex.EncodeToString(b)
	coll := s.store.Collection(metaBackend)
	m := restoreMarker{ID: restoreMarkerDoc, Token: token, Beat: time.Now().UnixMilli()}
	doc, err := docstore.Encode(m)
	if err != nil {
		return "", nil, err
	}
	err = coll.Insert(ctx, doc)
	if docstore.IsDuplicate(err) {
		var cur restoreMarker
		if err := findOne(ctx, coll, bson.D{{Key: "_id", Value: restoreMarkerDoc}}, docstore.FindOptions{}, &cur); err != nil {
			return "", nil, fmt.Errorf("read restore marker: %w", err)
		}
		if cur.Failed == "" && time.Since(time.UnixMilli(cur.Beat)) <= restoreStale {
			return "", nil, ErrRestoreInProgress
		}
		// Taken over only if it is still the marker just read: two replicas taking over
		// together cannot both win.
		_, err = coll.Replace(ctx, bson.D{{Key: "_id", Value: restoreMarkerDoc}, {Key: "token", Value: cur.Token}}, doc)
		if errors.Is(err, docstore.ErrNotFound) {
			return "", nil, ErrRestoreInProgress
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("place restore marker: %w", err)
	}
	s.restore.mu.Lock()
	s.restore.own = true
	s.restore.mu.Unlock()
	beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(restoreHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-beatCtx.Done():
				return
			case <-t.C:
				_, err := coll.Update(beatCtx, bson.D{{Key: "_id", Value: restoreMarkerDoc}, {Key: "token", Value: token}},
					docstore.Change{Set: bson.D{{Key: "beat", Value: time.Now().UnixMilli()}}})
				if err != nil && beatCtx.Err() == nil {
					s.log.Warn("restore heartbeat", "err", err)
				}
			}
		}
	}()
	return token, func() { stop(); <-done }, nil
}

// releaseRestore removes this replica's marker (failed empty) or leaves it saying why the
// restore stopped with the previous data not put back; either way this replica's own
// refusal ends with it.
func (s *Service) releaseRestore(ctx context.Context, token, failed string) error {
	coll := s.store.Collection(metaBackend)
	filter := bson.D{{Key: "_id", Value: restoreMarkerDoc}, {Key: "token", Value: token}}
	var err error
	if failed == "" {
		_, err = coll.Delete(ctx, filter)
	} else {
		_, err = coll.Update(ctx, filter, docstore.Change{Set: bson.D{{Key: "failed", Value: failed}}})
	}
	if errors.Is(err, docstore.ErrNotFound) {
		err = nil
	}
	s.restore.mu.Lock()
	s.restore.own = false
	s.restore.checked = time.Time{}
	s.restore.mu.Unlock()
	if err != nil {
		return fmt.Errorf("release restore marker: %w", err)
	}
	return nil
}
