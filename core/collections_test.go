package core

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRuleChangeReachesCachedReplica: a rule changed through one replica applies on another
// that cached the collection once its cache entry expires.
func TestRuleChangeReachesCachedReplica(t *testing.T) {
	ctx := context.Background()
	a := newTestService(t, nil)
	a.collections.ttl = 200 * time.Millisecond
	if _, err := a.CreateCollection(ctx, "notes"); err != nil {
		t.Fatal(err)
	}
	anon := Caller{}
	if _, err := a.Documents(ctx, "notes", Caller{UserID: "0123456789abcdef01234567"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Documents(ctx, "notes", anon, false); !errors.Is(err, ErrNotSignedIn) {
		t.Fatalf("anonymous read of an authenticated collection: %v", err)
	}
	b := newTestService(t, a.store)
	if _, err := b.SetCollectionRule(ctx, "notes", RulePublicRead); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := a.Documents(ctx, "notes", anon, false); err != nil {
		t.Fatalf("anonymous read after the rule became public-read: %v", err)
	}
}

func TestSetRuleRefusesUnknownRule(t *testing.T) {
	s := newTestService(t, nil)
	if _, err := s.CreateCollection(context.Background(), "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCollectionRule(context.Background(), "shared", "everyone"); !errors.Is(err, ErrInvalidRule) {
		t.Fatalf("rule everyone: %v", err)
	}
}
