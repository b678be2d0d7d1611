package store

import (
	"context"
	"testing"
)

func TestSettings(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		_, err := s.Setting(ctx, "k")
		wantErr(t, "never set", err, ErrNotFound)
		wantErr(t, "set", s.SetSetting(ctx, "k", "v1"), nil)
		wantErr(t, "replace", s.SetSetting(ctx, "k", "v2"), nil)
		wantErr(t, "other", s.SetSetting(ctx, "empty", ""), nil)
		v, err := s.Setting(ctx, "k")
		wantErr(t, "get", err, nil)
		if v != "v2" {
			t.Fatalf("k = %q, want v2", v)
		}
		v, err = s.Setting(ctx, "empty")
		wantErr(t, "get empty", err, nil)
		if v != "" {
			t.Fatalf("empty = %q", v)
		}
	})
}
