package store

import (
	"context"
	"testing"
	"time"
)

func TestAPIReplicasAndImage(t *testing.T) {
	each(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		created, err := s.CreateBackend(ctx, newBackend("shop", "alice"))
		wantErr(t, "create", err, nil)
		wantEqual(t, "replicas at create", created.APIReplicas, 1)
		wantEqual(t, "image at create", created.APIImage, "")
		got, err := s.SetAPIReplicas(ctx, "shop", 3, at(time.Second))
		wantErr(t, "set replicas", err, nil)
		wantEqual(t, "replicas", got.APIReplicas, 3)
		wantEqual(t, "updated at", got.UpdatedAt, at(time.Second))
		if _, err := s.SetAPIReplicas(ctx, "shop", 0, t0); err == nil {
			t.Fatal("0 replicas were stored")
		}
		_, err = s.SetAPIReplicas(ctx, "nope", 2, t0)
		wantErr(t, "set replicas of unknown", err, ErrNotFound)

		wantErr(t, "image on a stale operation", s.SetAPIImage(ctx, "shop", created.Operation+1, "api:v2"), ErrStale)
		wantErr(t, "image of unknown", s.SetAPIImage(ctx, "nope", 1, "api:v2"), ErrNotFound)
		wantErr(t, "image", s.SetAPIImage(ctx, "shop", created.Operation, "api:v2"), nil)
		read, _ := s.Backend(ctx, "shop")
		wantEqual(t, "image read back", read.APIImage, "api:v2")
		wantEqual(t, "replicas read back", read.APIReplicas, 3)
		wantEqual(t, "the image leaves updated at", read.UpdatedAt, at(time.Second))
	})
}
