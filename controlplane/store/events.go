package store

import (
	"context"
	"fmt"
)

// AddEvent appends an event to its operation's log. IDs come from the database (a sequence
// on PostgreSQL, AUTOINCREMENT on SQLite), so they increase across all backends and never
// repeat, and a reader can resume after the last ID it saw.
func (s *SQL) AddEvent(ctx context.Context, e Event) (Event, error) {
	return s.addEvent(ctx, s.db, e)
}

// addEvent inserts the event through q, the database or a transaction.
func (s *SQL) addEvent(ctx context.Context, q querier, e Event) (Event, error) {
	e.At = stored(orNow(e.At))
	err := q.QueryRowContext(ctx, s.q(`INSERT INTO events (backend, operation, at, kind, state, message)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		e.Backend, e.Operation, millis(e.At), e.Kind, string(e.State), e.Message).Scan(&e.ID)
	if err != nil {
		return Event{}, fmt.Errorf("add event %s@%d: %w", e.Backend, e.Operation, err)
	}
	return e, nil
}

// Events reads an operation's log after afterID (0 for all of it), in the order written.
func (s *SQL) Events(ctx context.Context, backend string, operation int64, afterID int64) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, backend, operation, at, kind, state, message FROM events
		WHERE backend = ? AND operation = ? AND id > ? ORDER BY id`), backend, operation, afterID)
	if err != nil {
		return nil, fmt.Errorf("events %s@%d: %w", backend, operation, err)
	}
	defer rows.Close()
	var es []Event
	for rows.Next() {
		var e Event
		var at int64
		var state string
		if err := rows.Scan(&e.ID, &e.Backend, &e.Operation, &at, &e.Kind, &state, &e.Message); err != nil {
			return nil, fmt.Errorf("events %s@%d: %w", backend, operation, err)
		}
		e.At, e.State = fromMillis(at), State(state)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events %s@%d: %w", backend, operation, err)
	}
	return es, nil
}
