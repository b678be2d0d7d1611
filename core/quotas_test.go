package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestLockIsExclusiveAndExpires: a held lock keeps others waiting until it is released, and a
// lock whose holder died is taken over once it has expired.
func TestLockIsExclusiveAndExpires(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, nil)
	release, err := s.locks.acquire(ctx, "files")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := s.locks.acquire(short, "files"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder: %v", err)
	}
	release()
	again, err := s.locks.acquire(ctx, "files")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()

	// A holder that died left its lock behind, expired.
	if err := insertValue(ctx, s.locks.coll, lockDoc{ID: "collections", Token: "dead", Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	took, err := s.locks.acquire(ctx, "collections")
	if err != nil {
		t.Fatalf("taking over an expired lock: %v", err)
	}
	took()
}

// TestCollectionsQuota: end users cannot create collections past the quota; the operator can.
func TestCollectionsQuota(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, nil)
	two := int64(2)
	if _, err := s.UpdateSettings(ctx, SettingsPatch{Quotas: &QuotasPatch{Collections: &two}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := s.CreateCollectionWithinQuota(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	var de *Error
	if _, err := s.CreateCollectionWithinQuota(ctx, "c"); !errors.As(err, &de) || de.Code != "quota_exceeded" || de.Kind != Forbidden {
		t.Fatalf("third collection: %v", err)
	}
	if _, err := s.CreateCollectionWithinQuota(ctx, "a"); !errors.As(err, &de) || de.Code != "collection_exists" {
		t.Fatalf("existing name: %v", err)
	}
	if _, err := s.CreateCollection(ctx, "c"); err != nil {
		t.Fatalf("the operator over the quota: %v", err)
	}
	v, err := s.ViewSettings(ctx)
	if err != nil || v.Usage == nil || v.Usage.Collections != 3 || v.Quotas.Collections != 2 {
		t.Fatalf("settings view %+v, %v", v, err)
	}
}

// TestFileBytesQuota: the bytes of every user's files, and of one user's, stay within the
// quotas; an overwrite counts only what it adds.
func TestFileBytesQuota(t *testing.T) {
	ctx := context.Background()
	s := newTestService(t, nil)
	total, perUser := int64(10), int64(6)
	if _, err := s.UpdateSettings(ctx, SettingsPatch{Quotas: &QuotasPatch{FileBytes: &total, UserFileBytes: &perUser}}); err != nil {
		t.Fatal(err)
	}
	upload := func(owner, name, content string) error {
		t.Helper()
		up, err := s.ReceiveFile(strings.NewReader(content), 100)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateFile(ctx, up, owner, name, "", "text/plain")
		return err
	}
	alice, bob := bson.NewObjectID().Hex(), bson.NewObjectID().Hex()
	if err := upload(alice, "a.txt", "12345"); err != nil {
		t.Fatal(err)
	}
	var de *Error
	if err := upload(alice, "b.txt", "12"); !errors.As(err, &de) || de.Details["quota"] != "userFileBytes" {
		t.Fatalf("over the user's quota: %v", err)
	}
	if err := upload(bob, "b.txt", "123456"); !errors.As(err, &de) || de.Details["quota"] != "fileBytes" {
		t.Fatalf("over the backend's quota: %v", err)
	}
	up, err := s.ReceiveFile(strings.NewReader("123456"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := s.OverwriteFile(ctx, up, alice, "a.txt", "text/plain"); err != nil || m.Size != 6 || m.Bucket != DefaultBucket {
		t.Fatalf("overwrite within the quota: %+v, %v", m, err)
	}
	files, err := s.ListFiles(ctx, "", "")
	if err != nil || len(files) != 1 {
		t.Fatalf("files %+v, %v", files, err)
	}
}
