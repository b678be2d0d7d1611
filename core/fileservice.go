package core

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/backpackhq/backpack/tools/docstore"
	"github.com/backpackhq/backpack/tools/names"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// DefaultBucket is the bucket of a file uploaded without one.
const DefaultBucket = "default"

// CreateFile names an upload as one of owner's files, in bucket (DefaultBucket when empty),
// with the content type the edge worked out: under the owner's lock, within the byte quotas.
// ErrFileExists if owner already has a file of that name. The upload's temp file is gone
// afterwards, whatever the outcome.
func (s *Service) CreateFile(ctx context.Context, up *Upload, owner, filename, bucket, contentType string) (FileMeta, error) {
	defer s.files.discard(up)
	if err := names.Filename(filename); err != nil {
		return FileMeta{}, err
	}
	if bucket == "" {
		bucket = DefaultBucket
	}
	if err := names.Bucket(bucket); err != nil {
		return FileMeta{}, err
	}
	now := Timestamp()
	m := FileMeta{ID: bson.NewObjectID(), Owner: owner, Filename: filename, Bucket: bucket, Size: up.Size,
		ContentType: contentType, CreatedAt: now, UpdatedAt: now}
	unlock, err := s.lockForGrowth(ctx, owner)
	if err != nil {
		return FileMeta{}, err
	}
	defer unlock()
	if err := s.checkFileQuota(ctx, owner, m.Size); err != nil {
		return FileMeta{}, err
	}
	if err := s.files.create(ctx, up, m); err != nil {
		return FileMeta{}, err
	}
	return m, nil
}

// ListFiles returns the metadata of owner's files (every user's when owner is ""), those in
// bucket only when it is not "", by owner and name.
func (s *Service) ListFiles(ctx context.Context, owner, bucket string) ([]FileMeta, error) {
	f := bson.D{}
	if owner != "" {
		f = append(f, bson.E{Key: "owner", Value: owner})
	}
	if bucket != "" {
		if err := names.Bucket(bucket); err != nil {
			return nil, err
		}
		f = append(f, bson.E{Key: "bucket", Value: bucket})
	}
	metas, err := findAll[FileMeta](ctx, s.files.meta, f, docstore.FindOptions{Sort: bson.D{{Key: "owner", Value: 1}, {Key: "filename", Value: 1}}})
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	return metas, nil
}

// FindFile returns the metadata of one of owner's files, or ErrFileNotFound.
func (s *Service) FindFile(ctx context.Context, owner, filename string) (FileMeta, error) {
	return s.files.find(ctx, owner, filename)
}

// OpenFile returns a file's bytes for reading; the caller closes it.
func (s *Service) OpenFile(m FileMeta) (*os.File, fs.FileInfo, error) { return s.files.open(m) }

// RenameFile gives one of owner's files a new name and/or bucket (nil leaves either as it is),
// under the owner's lock; ErrFileExists if the new name is taken.
func (s *Service) RenameFile(ctx context.Context, owner, filename string, newName, newBucket *string) (FileMeta, error) {
	unlock := s.files.locks.Lock(owner)
	defer unlock()
	m, err := s.files.find(ctx, owner, filename)
	if err != nil {
		return FileMeta{}, err
	}
	name, bucket := m.Filename, m.Bucket
	if newName != nil {
		if err := names.Filename(*newName); err != nil {
			return FileMeta{}, err
		}
		name = *newName
	}
	if newBucket != nil {
		if err := names.Bucket(*newBucket); err != nil {
			return FileMeta{}, err
		}
		bucket = *newBucket
	}
	return s.files.rename(ctx, m, name, bucket)
}

// OverwriteFile swaps the bytes of one of owner's files for an upload, under the owner's lock
// and within the byte quotas. The upload's temp file is gone afterwards, whatever the outcome.
func (s *Service) OverwriteFile(ctx context.Context, up *Upload, owner, filename, contentType string) (FileMeta, error) {
	defer s.files.discard(up)
	unlock, err := s.lockForGrowth(ctx, owner)
	if err != nil {
		return FileMeta{}, err
	}
	defer unlock()
	m, err := s.files.find(ctx, owner, filename)
	if err != nil {
		return FileMeta{}, err
	}
	if err := s.checkFileQuota(ctx, owner, up.Size-m.Size); err != nil {
		return FileMeta{}, err
	}
	return s.files.replace(ctx, up, m, contentType)
}

// DeleteFile deletes one of owner's files, under the owner's lock, and returns its metadata.
func (s *Service) DeleteFile(ctx context.Context, owner, filename string) (FileMeta, error) {
	unlock := s.files.locks.Lock(owner)
	defer unlock()
	m, err := s.files.find(ctx, owner, filename)
	if err != nil {
		return FileMeta{}, err
	}
	if err := s.files.remove(ctx, m); err != nil {
		return FileMeta{}, err
	}
	return m, nil
}

// lockForGrowth takes the owner's file lock, then the backend-wide quota lock, for a change
// that may grow the stored bytes; the returned function releases both.
func (s *Service) lockForGrowth(ctx context.Context, owner string) (func(), error) {
	unlock := s.files.locks.Lock(owner)
	unlockQuota, err := s.lockFileQuota(ctx)
	if err != nil {
		unlock()
		return nil, err
	}
	return func() {
		unlockQuota()
		unlock()
	}, nil
}
