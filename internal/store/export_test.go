package store

import "context"

// WithCollabReadHook makes CollabLoad run f between its two reads, with
// the transaction they run in.
func WithCollabReadHook(ctx context.Context, f func(tx *Store)) context.Context {
	return context.WithValue(ctx, collabReadHook{}, f)
}
