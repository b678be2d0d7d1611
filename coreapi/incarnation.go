package coreapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// metaBackend holds facts about the backend's database itself. Like every internal collection
// its name starts with "_", so no client collection can shadow or reach it.
const metaBackend = "_backend"

// incarnationDoc is the id of the document holding the database's incarnation.
const incarnationDoc = "incarnation"

// loadIncarnation returns the database's incarnation: a random value written once, by the first
// replica that starts on the database, and read by every later one. Purging a backend drops its
// database, so a backend created again under the same name gets a new incarnation, and session
// keys derived from it (see Server.sessionKey) make every token of the old backend worthless
// even where its ephemeral store (a Redis shared by name) still holds the old sessions.
func loadIncarnation(ctx context.Context, db *mongo.Database) (string, error) {
	coll := db.Collection(metaBackend)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new incarnation: %w", err)
	}
	// Replicas starting together race here: the unique _id lets exactly one insert win, and
	// every replica then reads the winner's value.
	_, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: incarnationDoc}, {Key: "value", Value: hex.EncodeToString(b)}})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return "", fmt.Errorf("store incarnation: %w", err)
	}
	var stored struct {
		Value string `bson:"value"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: incarnationDoc}}).Decode(&stored); err != nil {
		return "", fmt.Errorf("read incarnation: %w", err)
	}
	if stored.Value == "" {
		return "", errors.New("read incarnation: the stored value is empty")
	}
	return stored.Value, nil
}
