package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// The scenarios, by the names -scenarios accepts.
const (
	scenarioCreate    = "create"
	scenarioList      = "list-20-of-10k"
	scenarioListSkip  = "list-20-of-10k-skip"
	scenarioFanout    = "fanout"
	scenarioFanoutTwo = "fanout-2-replicas"
	scenarioFunctions = "functions"
	scenarioBackup    = "backup"
)

// allScenarios are run in this order by default. The list is measured twice: the first page
// (what an app shows first) and a page at a random offset, because skipping costs a scan on
// FerretDB's SQLite backend and the two differ by orders of magnitude there. The fanout
// scenarios measure websocket delivery of channel messages, on one replica and on two; the
// functions scenario measures backend functions against the plain API; the backup scenario
// measures backups and restores of a backend of its own and the API's latency during a
// backup; the peer scenario measures the API and PocketBase side by side; the controlplane
// scenario measures a `backpack dev` process of its own.
var allScenarios = []string{scenarioCreate, scenarioList, scenarioListSkip, scenarioFanout, scenarioFanoutTwo, scenarioFunctions, scenarioBackup, scenarioPeer, scenarioControlPlane}

// fanoutReplicas is the number of API replicas a fanout scenario spreads its websocket
// clients over, and 0 for the request scenarios.
func fanoutReplicas(name string) int {
	switch name {
	case scenarioFanout:
		return 1
	case scenarioFanoutTwo:
		return 2
	}
	return 0
}

// Collections the scenarios use: create writes to benchCollection, the list reads pages of
// itemsCollection, which is seeded beforehand.
const (
	benchCollection = "bench"
	itemsCollection = "items"
	listLimit       = 20
	seedBatch       = 1000
)

// prepareData creates both collections through the API and seeds itemsCollection with docs
// documents owned by owner. Seeding goes straight to the database, in the shape the API
// writes, because it is much faster than one request per document; the API serves them as
// soon as the collection is registered.
func prepareData(ctx context.Context, api *apiClient, db *mongo.Database, owner string, docs int) error {
	for _, name := range []string{benchCollection, itemsCollection} {
		if err := api.call(ctx, http.MethodPost, "/collections", map[string]string{"name": name}, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	items := db.Collection(itemsCollection)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	batch := make([]any, 0, seedBatch)
	for i := range docs {
		batch = append(batch, bson.D{
			{Key: "_id", Value: bson.NewObjectID()},
			{Key: "title", Value: fmt.Sprintf("item %d", i)},
			{Key: "n", Value: i},
			{Key: "_owner", Value: owner},
			{Key: "_createdAt", Value: now},
			{Key: "_updatedAt", Value: now},
		})
		if len(batch) == seedBatch || i == docs-1 {
			if _, err := items.InsertMany(ctx, batch); err != nil {
				return fmt.Errorf("seed %s: %w", itemsCollection, err)
			}
			batch = batch[:0]
		}
	}
	return nil
}

// newScenario returns the request one client repeats in the named scenario; docs is the
// number of seeded items.
func newScenario(name string, api *apiClient, docs int) step {
	switch name {
	case scenarioCreate:
		return createStep(api)
	case scenarioList:
		return listStep(api, func() int { return 0 })
	case scenarioListSkip:
		return listStep(api, func() int { return rand.IntN(docs - listLimit + 1) })
	}
	panic("unknown scenario " + name)
}

// createStep posts a small document and expects 201.
func createStep(api *apiClient) step {
	return func(ctx context.Context, i int) error {
		resp, err := api.do(ctx, http.MethodPost, "/"+benchCollection, fmt.Appendf(nil, `{"title":"hello","n":%d}`, i))
		if err != nil {
			return err
		}
		return expect(resp, http.StatusCreated, nil)
	}
}

// listStep reads a page of listLimit items at the offset skip chooses and expects a full page.
func listStep(api *apiClient, skip func() int) step {
	return func(ctx context.Context, _ int) error {
		path := fmt.Sprintf("/%s?limit=%d&skip=%d", itemsCollection, listLimit, skip())
		resp, err := api.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return err
		}
		var page []json.RawMessage
		if err := expect(resp, http.StatusOK, &page); err != nil {
			return err
		}
		if len(page) != listLimit {
			return fmt.Errorf("%d documents, want %d", len(page), listLimit)
		}
		return nil
	}
}
