package core

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/backpackhq/backpack/internal/teststore"
	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/ephemeral"
)

// newTestService opens a service on store (a new one from teststore.New when nil) with the
// in-memory ephemeral store and the default quotas; it is closed when the test ends. Two
// services on one store play two replicas of a backend.
func newTestService(t *testing.T, store docstore.Store) *Service {
	t.Helper()
	if store == nil {
		store = teststore.New(t)
	}
	s, err := Open(context.Background(), Config{
		FilesDir: t.TempDir(), APIKey: "test-api-key-0123456789", Quotas: DefaultQuotas(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, store, ephemeral.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
