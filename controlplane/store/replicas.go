package store

import (
	"context"
	"fmt"
	"time"
)

// SetAPIReplicas writes how many API tasks the backend runs.
func (s *SQL) SetAPIReplicas(ctx context.Context, name string, replicas int, now time.Time) (Backend, error) {
	if replicas < 1 {
		return Backend{}, fmt.Errorf("set api replicas of %s: %d is fewer than one", name, replicas)
	}
	b, err := scanBackend(s.db.QueryRowContext(ctx, s.q(`UPDATE backends SET api_replicas = ?, updated_at = ?
		WHERE name = ? RETURNING `+backendCols), replicas, millis(orNow(now)), name))
	if err != nil {
		return Backend{}, fmt.Errorf("set api replicas of %s: %w", name, notFound(err))
	}
	return b, nil
}

// SetAPIImage records the image only on the operation that became ready with it. It leaves
// updated_at alone: the backend did not change, the fleet's progress did.
func (s *SQL) SetAPIImage(ctx context.Context, name string, operation int64, image string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backends SET api_image = ? WHERE name = ? AND operation = ?`), image, name, operation)
	if err != nil {
		return fmt.Errorf("set api image of %s: %w", name, err)
	}
	if err := s.onOperation(ctx, s.db, res, name); err != nil {
		return fmt.Errorf("set api image of %s@%d: %w", name, operation, err)
	}
	return nil
}
