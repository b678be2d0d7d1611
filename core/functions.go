package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/names"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// metaFunctions holds the backend's functions, one document per function with its current
// version. Every replica runs what it holds, so a deploy is a write here and an event telling
// the replicas to read it again.
const metaFunctions = "_functions"

// Limits of a function's definition, so a deploy cannot store what no replica could run well.
const (
	MaxFunctionSourceBytes = 512 << 10
	MaxFunctionEnvVars     = 100
	MaxFunctionEnvBytes    = 64 << 10
	MaxFunctionCollections = 100
	DefaultFunctionTimeout = 5000
	MaxFunctionTimeout     = 60000
	MinFunctionTimeout     = 10
)

// Function is one deployed function: its source and what it applies to, at one version.
// Handlers are the contract's handlers the source defines, as found when it was deployed.
type Function struct {
	Name      string `bson:"_id" json:"name"`
	Version   int64  `bson:"version" json:"version"`
	UpdatedAt string `bson:"updatedAt" json:"updatedAt"`
	// CreatedAt is when the first version was deployed: every later version keeps it, and a
	// function deleted and deployed again under its name gets a new one.
	CreatedAt   string            `bson:"createdAt" json:"createdAt"`
	Source      string            `bson:"source" json:"source,omitempty"`
	Collections []string          `bson:"collections" json:"collections"`
	Env         map[string]string `bson:"env" json:"env,omitempty"`
	TimeoutMS   int64             `bson:"timeoutMs" json:"timeoutMs"`
	Handlers    []string          `bson:"handlers" json:"handlers"`
}

// FunctionDeploy is what a deploy sends; Handlers are found by running the source's top level
// before it is stored (see functions.Runtime.Deploy).
type FunctionDeploy struct {
	Source      string            `json:"source"`
	Collections []string          `json:"collections"`
	Env         map[string]string `json:"env"`
	TimeoutMS   int64             `json:"timeoutMs"`
}

// Validate checks a deploy's fields and fills in the defaults.
func (d *FunctionDeploy) Validate() error {
	if d.Source == "" {
		return invalid("invalid_request", "source is required")
	}
	if len(d.Source) > MaxFunctionSourceBytes {
		return newError(TooLarge, "function_too_large", fmt.Sprintf("the source is over %d KiB", MaxFunctionSourceBytes>>10))
	}
	if len(d.Collections) > MaxFunctionCollections {
		return invalid("invalid_request", fmt.Sprintf("at most %d collections", MaxFunctionCollections))
	}
	for _, c := range d.Collections {
		if err := names.Collection(c); err != nil {
			return invalid("invalid_name", err.Error())
		}
	}
	if d.Collections == nil {
		d.Collections = []string{}
	}
	slices.Sort(d.Collections)
	d.Collections = slices.Compact(d.Collections)
	if len(d.Env) > MaxFunctionEnvVars {
		return invalid("invalid_request", fmt.Sprintf("at most %d env entries", MaxFunctionEnvVars))
	}
	size := 0
	for k, v := range d.Env {
		if !envName.MatchString(k) {
			return invalid("invalid_env", fmt.Sprintf("env name %q must be letters, digits and '_', not starting with a digit (at most 128)", k))
		}
		size += len(k) + len(v)
	}
	if size > MaxFunctionEnvBytes {
		return newError(TooLarge, "function_too_large", fmt.Sprintf("env is over %d KiB", MaxFunctionEnvBytes>>10))
	}
	if d.TimeoutMS == 0 {
		d.TimeoutMS = DefaultFunctionTimeout
	}
	if d.TimeoutMS < MinFunctionTimeout || d.TimeoutMS > MaxFunctionTimeout {
		return invalid("invalid_request", fmt.Sprintf("timeoutMs must be between %d and %d", MinFunctionTimeout, MaxFunctionTimeout))
	}
	return nil
}

// envName is what an env entry may be called: a name every shell and language accepts, and a
// safe field name in the stored document (no "$" or ".").
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// ErrFunctionNotFound is the answer for a function that is not deployed.
var ErrFunctionNotFound = newError(NotFound, "function_not_found", "no such function")

// CheckFunctionName holds function names to the collection-name rules, as the contract says.
func CheckFunctionName(name string) error {
	if err := names.Collection(name); err != nil {
		return invalid("invalid_name", fmt.Sprintf("invalid function name %q: %s", name, (err.(*names.Error)).Msg))
	}
	return nil
}

// StoreFunction stores a new version of a function (version one more than the stored one) and
// tells every replica. Two deploys at once each get their own version; the later write wins.
func (s *Service) StoreFunction(ctx context.Context, name string, d FunctionDeploy, handlers []string) (Function, error) {
	coll := s.store.Collection(metaFunctions)
	for range replaceAttempts {
		now := Timestamp()
		fn := Function{Name: name, Version: 1, UpdatedAt: now, CreatedAt: now, Source: d.Source,
			Collections: d.Collections, Env: maps.Clone(d.Env), TimeoutMS: d.TimeoutMS, Handlers: handlers}
		if fn.Env == nil {
			fn.Env = map[string]string{}
		}
		current, err := s.Function(ctx, name)
		switch {
		case errors.Is(err, ErrFunctionNotFound):
			err = insertValue(ctx, coll, fn)
			if docstore.IsDuplicate(err) {
				continue
			}
		case err != nil:
			return Function{}, err
		default:
			fn.Version, fn.CreatedAt = current.Version+1, current.CreatedAt
			var doc bson.D
			if doc, err = docstore.Encode(fn); err == nil {
				_, err = coll.Replace(ctx, bson.D{{Key: "_id", Value: name}, {Key: "version", Value: current.Version}}, doc)
			}
			if errors.Is(err, docstore.ErrNotFound) {
				continue
			}
		}
		if err != nil {
			return Function{}, fmt.Errorf("store function %s: %w", name, err)
		}
		s.Publish(ctx, Event{Kind: KindFunction, Action: "deploy", Collection: name})
		return fn, nil
	}
	return Function{}, ErrWriteConflict
}

// Function reads one function, source included.
func (s *Service) Function(ctx context.Context, name string) (Function, error) {
	var fn Function
	err := findOne(ctx, s.store.Collection(metaFunctions), bson.D{{Key: "_id", Value: name}}, docstore.FindOptions{}, &fn)
	if errors.Is(err, docstore.ErrNotFound) {
		return Function{}, ErrFunctionNotFound
	}
	if err != nil {
		return Function{}, fmt.Errorf("read function %s: %w", name, err)
	}
	return fn, nil
}

// Functions lists every function by name, sources included: replicas load them all at once.
func (s *Service) Functions(ctx context.Context) ([]Function, error) {
	fns, err := findAll[Function](ctx, s.store.Collection(metaFunctions), bson.D{}, docstore.FindOptions{Sort: bson.D{{Key: "_id", Value: 1}}})
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	return fns, nil
}

// DeleteFunction removes a function and its logs and tells every replica.
func (s *Service) DeleteFunction(ctx context.Context, name string) error {
	_, err := s.store.Collection(metaFunctions).Delete(ctx, bson.D{{Key: "_id", Value: name}})
	if errors.Is(err, docstore.ErrNotFound) {
		return ErrFunctionNotFound
	}
	if err != nil {
		return fmt.Errorf("delete function %s: %w", name, err)
	}
	s.Publish(ctx, Event{Kind: KindFunction, Action: "delete", Collection: name})
	if _, err := s.store.Collection(metaFunctionLogs).DeleteMany(ctx, bson.D{{Key: "function", Value: name}}); err != nil {
		return fmt.Errorf("delete logs of function %s: %w", name, err)
	}
	return nil
}

// FunctionVersions is every function's current version, by name: what a replica compares with
// what it runs, without reading every source.
func (s *Service) FunctionVersions(ctx context.Context) (map[string]int64, error) {
	type version struct {
		Name    string `bson:"_id"`
		Version int64  `bson:"version"`
	}
	vs, err := findAll[version](ctx, s.store.Collection(metaFunctions), bson.D{}, docstore.FindOptions{Projection: bson.D{{Key: "version", Value: 1}}})
	if err != nil {
		return nil, fmt.Errorf("list function versions: %w", err)
	}
	out := make(map[string]int64, len(vs))
	for _, v := range vs {
		out[v.Name] = v.Version
	}
	return out, nil
}
