package core

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestOwnerRuleScopesEveryOperation: in an owner-rule collection a user reads, lists and
// changes only their own documents, the operator every one of them, and an anonymous caller
// none.
func TestOwnerRuleScopesEveryOperation(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, nil)
	if _, err := s.CreateCollection(ctx, "notes"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCollectionRule(ctx, "notes", RuleOwner); err != nil {
		t.Fatal(err)
	}
	alice, bob := Caller{UserID: bson.NewObjectID().Hex()}, Caller{UserID: bson.NewObjectID().Hex()}
	open := func(who Caller, write bool) Documents {
		t.Helper()
		d, err := s.Documents(ctx, "notes", who, write)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	doc, err := open(alice, true).Create(ctx, bson.D{{Key: "text", Value: "mine"}})
	if err != nil {
		t.Fatal(err)
	}
	id := doc[0].Value.(bson.ObjectID)
	if StringField(doc, "_owner") != alice.UserID || StringField(doc, "_createdAt") == "" {
		t.Fatalf("server fields of %v", doc)
	}
	if _, err := open(bob, false).Get(ctx, id); !errors.Is(err, ErrDocumentNotFound) {
		t.Fatalf("another user's get: %v", err)
	}
	if _, err := open(bob, true).Patch(ctx, id, bson.D{{Key: "text", Value: "theirs"}}); !errors.Is(err, ErrDocumentNotFound) {
		t.Fatalf("another user's patch: %v", err)
	}
	if _, err := open(bob, true).Delete(ctx, id); !errors.Is(err, ErrDocumentNotFound) {
		t.Fatalf("another user's delete: %v", err)
	}
	for who, want := range map[string]struct {
		caller Caller
		n      int
	}{"owner": {alice, 1}, "other": {bob, 0}, "operator": {AdminCaller, 1}} {
		docs, total, err := open(want.caller, false).Find(ctx, Query{Limit: 10, Count: true})
		if err != nil || len(docs) != want.n || total != int64(want.n) {
			t.Errorf("%s lists %d of %d (%v), want %d", who, len(docs), total, err, want.n)
		}
	}
	if _, err := s.Documents(ctx, "notes", Caller{}, false); !errors.Is(err, ErrNotSignedIn) {
		t.Fatalf("anonymous read: %v", err)
	}
}

// TestReplaceKeepsServerFields: a replace swaps every client field and keeps the owner and
// creation time; clients can never set server fields or Mongo-special names.
func TestReplaceKeepsServerFields(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, nil)
	if _, err := s.CreateCollection(ctx, "cars"); err != nil {
		t.Fatal(err)
	}
	who := Caller{UserID: bson.NewObjectID().Hex()}
	cars, err := s.Documents(ctx, "cars", who, true)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := cars.Create(ctx, bson.D{{Key: "make", Value: "Saab"}, {Key: "year", Value: int32(1990)}})
	if err != nil {
		t.Fatal(err)
	}
	id := doc[0].Value.(bson.ObjectID)
	replaced, err := cars.Replace(ctx, id, bson.D{{Key: "make", Value: "Volvo"}})
	if err != nil {
		t.Fatal(err)
	}
	if StringField(replaced, "make") != "Volvo" || StringField(replaced, "_owner") != who.UserID ||
		StringField(replaced, "_createdAt") != StringField(doc, "_createdAt") {
		t.Fatalf("replaced %v into %v", doc, replaced)
	}
	if _, ok := lookupField(replaced, "year"); ok {
		t.Fatalf("a replace kept a field it was not sent: %v", replaced)
	}
	for _, bad := range []bson.D{
		{{Key: "_owner", Value: "someone"}},
		{{Key: "a", Value: bson.D{{Key: "$gt", Value: int32(1)}}}},
		{{Key: "a.b", Value: int32(1)}},
	} {
		var de *Error
		if _, err := cars.Patch(ctx, id, bad); !errors.As(err, &de) || de.Kind != Invalid {
			t.Errorf("patch %v: %v", bad, err)
		}
	}
	if _, err := cars.Get(ctx, bson.NewObjectID()); !errors.Is(err, ErrDocumentNotFound) {
		t.Fatalf("get of a missing document: %v", err)
	}
}
