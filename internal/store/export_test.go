package store

import "context"

// WithCollabReadHook makes CollabLoad run f between its two reads, with
// the transaction they run in.
func WithCollabReadHook(ctx context.Context, f func(tx *Store)) context.Context {
	return context.WithValue(ctx, collabReadHook{}, f)
}

// MigrateTo applies the pending migrations up to version upTo.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error { return s.migrateTo(ctx, upTo) }

// Exec runs a statement of a test (e.g. rows as an older schema held them).
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.exec(ctx, query, args...)
	return err
}

// Prepared returns query prepared by the statement cache (bound to s's
// transaction if any).
func (s *Store) Prepared(ctx context.Context, query string) error {
	_, err := s.prepared(ctx, query)
	return err
}

// WriterWaits counts the waits for a connection of the writer pool.
func (s *Store) WriterWaits() int64 { return s.write.Stats().WaitCount }

// OwnersChunk is how many ids one statement of ProjectOwnersOf binds.
const OwnersChunk = ownersChunk
