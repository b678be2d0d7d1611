package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaBackend holds facts about the backend's database itself. Like every internal collection
// its name starts with "_", so no client collection can shadow or reach it.
const metaBackend = "_backend"

// incarnationDoc is the id of the document holding the database's incarnation.
const incarnationDoc = "incarnation"

// loadIncarnation returns the database's incarnation: a random value written once, by the first
// replica that starts on the database, and read by every later one. Purging a backend drops its
// database, so a backend created again under the same name gets a new incarnation, and session
// keys derived from it (see coreapi.Server.sessionKey) make every token of the old backend worthless
// even where its ephemeral store (a Redis shared by name) still holds the old sessions.
func loadIncarnation(ctx context.Context, store docstore.Store) (string, error) {
	coll := store.Collection(metaBackend)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new incarnation: %w", err)
	}
	// Replicas starting together race here: the unique _id lets exactly one insert win, and
	// every replica then reads the winner's value.
	err := coll.Insert(ctx, bson.D{{Key: "_id", Value: incarnationDoc}, {Key: "value", Value: hex.EncodeToString(b)}})
	if err != nil && !docstore.IsDuplicate(err) {
		return "", fmt.Errorf("store incarnation: %w", err)
	}
	var stored struct {
		Value string `bson:"value"`
	}
	if err := findOne(ctx, coll, bson.D{{Key: "_id", Value: incarnationDoc}}, docstore.FindOptions{}, &stored); err != nil {
		return "", fmt.Errorf("read incarnation: %w", err)
	}
	if stored.Value == "" {
		return "", errors.New("read incarnation: the stored value is empty")
	}
	return stored.Value, nil
}
