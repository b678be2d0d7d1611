package core

import (
	"context"
	"fmt"

	"github.com/backpackhq/backpack/tools/docstore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaFunctionLogs keeps each function's recent log lines (console.log, errors with their
// stack) in the backend's database, so every replica's lines are read in one place.
const metaFunctionLogs = "_function_logs"

// Function log bounds: lines kept per function, and lines one read returns.
const (
	MaxFunctionLogs     = 1000
	DefaultFunctionTail = 100
)

// FunctionLog is one line a function logged. ID orders lines and lets a reader follow them
// (see FunctionLogs' after).
type FunctionLog struct {
	ID       bson.ObjectID `bson:"_id" json:"id"`
	Function string        `bson:"function" json:"-"`
	// Lineage is the CreatedAt of the function that logged it: a line stored after its function
	// was deleted (by a replica still flushing) is never shown for a new function of that name.
	Lineage string `bson:"lineage" json:"-"`
	Version int64  `bson:"version" json:"version"`
	Time    string `bson:"time" json:"time"`
	Level   string `bson:"level" json:"level"`
	Message string `bson:"message" json:"message"`
}

func (s *Service) ensureFunctionLogIndex(ctx context.Context) error {
	return ensureIndex(ctx, s.store.Collection(metaFunctionLogs), docstore.Index{Name: "function_id", Fields: []string{"function", "_id"}})
}

// AppendFunctionLogs stores lines of one function and drops the oldest beyond MaxFunctionLogs.
func (s *Service) AppendFunctionLogs(ctx context.Context, function string, lines []FunctionLog) error {
	coll := s.store.Collection(metaFunctionLogs)
	for _, l := range lines {
		l.Function = function
		if l.ID.IsZero() {
			l.ID = bson.NewObjectID()
		}
		if err := insertValue(ctx, coll, l); err != nil {
			return fmt.Errorf("store logs of %s: %w", function, err)
		}
	}
	of := bson.D{{Key: "function", Value: function}}
	oldest, err := coll.Find(ctx, of, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: -1}}, Skip: MaxFunctionLogs, Limit: 1,
		Projection: bson.D{{Key: "_id", Value: 1}}})
	if err != nil {
		return fmt.Errorf("trim logs of %s: %w", function, err)
	}
	if len(oldest) == 1 {
		id, _ := lookupField(oldest[0], "_id")
		if _, err := coll.DeleteMany(ctx, bson.D{{Key: "function", Value: function}, {Key: "_id", Value: bson.D{{Key: "$lte", Value: id}}}}); err != nil {
			return fmt.Errorf("trim logs of %s: %w", function, err)
		}
	}
	return nil
}

// FunctionLogs returns a function's last tail lines, oldest first; with after set, only lines
// stored after that one.
func (s *Service) FunctionLogs(ctx context.Context, fn Function, tail int64, after bson.ObjectID) ([]FunctionLog, error) {
	function := fn.Name
	if tail <= 0 {
		tail = DefaultFunctionTail
	}
	tail = min(tail, MaxFunctionLogs)
	filter := bson.D{{Key: "function", Value: function}, {Key: "lineage", Value: fn.CreatedAt}}
	if !after.IsZero() {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
	}
	lines, err := findAll[FunctionLog](ctx, s.store.Collection(metaFunctionLogs), filter,
		docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: -1}}, Limit: tail})
	if err != nil {
		return nil, fmt.Errorf("read logs of %s: %w", function, err)
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	return lines, nil
}
