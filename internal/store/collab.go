package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CollabUpdate is one accepted Yjs update of a collaborative document.
type CollabUpdate struct {
	Seq  int64
	Data []byte
}

// CollabDoc is the stored state of a collaborative document (one per
// project file): a snapshot (a full Yjs update, covering the log up to
// SnapshotSeq) and the updates logged after it.
type CollabDoc struct {
	Snapshot     []byte // nil when the caller already has everything up to SnapshotSeq
	SnapshotSeq  int64
	LastSeq      int64
	Updates      []CollabUpdate // seq > max(after, SnapshotSeq), ascending
	FileHash     string
	PrevFileHash string
}

// CollabSeed creates the document with its seed update (what the file held
// when the document was first opened). When the document already exists
// nothing changes and created is false: the caller then loads the stored
// one, so concurrent seeding on several nodes agrees on one seed.
func (s *Store) CollabSeed(ctx context.Context, projectID, path string, seed []byte, fileHash string, now time.Time) (created bool, err error) {
	err = s.InTx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, `INSERT INTO collab_docs (project_id, path, file_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, path) DO NOTHING`,
			projectID, path, fileHash, micros(now), micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		created = true
		_, err = tx.exec(ctx, `INSERT INTO collab_snapshots (project_id, path, snapshot) VALUES (?, ?, ?)`,
			projectID, path, seed)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("seed collab doc: %w", err)
	}
	return created, nil
}

// CollabLoad reads a document: the snapshot when it covers more than after
// (pass -1 for a cold load), and every update logged after both. Returns
// ErrNotFound when the document was never seeded.
//
// The updates returned follow the snapshot (or after) without a hole, up to
// LastSeq at least. The row and the updates are read by two statements,
// and under PostgreSQL's READ COMMITTED each sees the data committed when
// it starts: a compaction committed between them deletes updates the row
// said were still logged, and the caller, trusting LastSeq, would never
// ask for them again. Such a read is retried (it then gets the new snapshot).
func (s *Store) CollabLoad(ctx context.Context, projectID, path string, after int64) (*CollabDoc, error) {
	for attempt := 0; ; attempt++ {
		d, err := s.collabLoad(ctx, projectID, path, after)
		if err != nil {
			return nil, fmt.Errorf("load collab doc: %w", err)
		}
		if d.contiguous(after) {
			return d, nil
		}
		if attempt == 5 {
			return nil, fmt.Errorf("load collab doc: the log kept changing under the read")
		}
	}
}

// contiguous reports whether d's updates follow its snapshot (or after,
// without one) one by one and reach LastSeq.
func (d *CollabDoc) contiguous(after int64) bool {
	next := max(after, d.SnapshotSeq) + 1
	for _, u := range d.Updates {
		if u.Seq != next {
			return false
		}
		next++
	}
	return next > d.LastSeq
}

// collabReadHook keys a function of a test in the context of CollabLoad:
// it runs between the read of the row and the read of the updates.
type collabReadHook struct{}

func (s *Store) collabLoad(ctx context.Context, projectID, path string, after int64) (*CollabDoc, error) {
	var d CollabDoc
	err := s.InTx(ctx, func(tx *Store) error {
		// The snapshot is read with the row (in one statement, so that
		// they agree) only when the caller lacks it: a warm load skips it.
		err := tx.queryRow(ctx, `SELECT d.snapshot_seq, d.last_seq, d.file_hash, d.prev_file_hash,
				CASE WHEN d.snapshot_seq > ? THEN s.snapshot END
			FROM collab_docs d JOIN collab_snapshots s ON s.project_id = d.project_id AND s.path = d.path
			WHERE d.project_id = ? AND d.path = ?`, after, projectID, path).
			Scan(&d.SnapshotSeq, &d.LastSeq, &d.FileHash, &d.PrevFileHash, &d.Snapshot)
		if err != nil {
			return mapErr(err)
		}
		if hook, ok := ctx.Value(collabReadHook{}).(func(*Store)); ok {
			hook(tx)
		}
		from := after
		if d.SnapshotSeq > after {
			from = d.SnapshotSeq
		}
		rows, err := tx.query(ctx, `SELECT seq, data FROM collab_updates
			WHERE project_id = ? AND path = ? AND seq > ? ORDER BY seq`, projectID, path, from)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u CollabUpdate
			if err := rows.Scan(&u.Seq, &u.Data); err != nil {
				return err
			}
			d.Updates = append(d.Updates, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// The statements of CollabAppend, prepared once (see stmtCache).
const (
	collabBump = `UPDATE collab_docs SET last_seq = last_seq + ?, updated_at = ?
		WHERE project_id = ? AND path = ? RETURNING last_seq`
	collabInsert = `INSERT INTO collab_updates (project_id, path, seq, data, created_at) VALUES `
	collabRow    = `(?, ?, ?, ?, ?)`
)

// collabInsertRows is how many updates one INSERT of CollabAppend logs at
// most: a batch is logged by one statement per collabInsertRows updates
// rather than one per update (each statement is a round of the driver:
// binding, stepping, resetting; on PostgreSQL a round trip).
const collabInsertRows = 16

// collabInsertN is the INSERT of n updates (one prepared statement per n).
func collabInsertN(n int) string {
	return collabInsert + strings.Repeat(collabRow+", ", n-1) + collabRow
}

// CollabAppend logs updates of a document in one transaction and returns
// the sequence number of the first; the others follow it. Appends of
// several nodes are serialised by the document row's lock.
func (s *Store) CollabAppend(ctx context.Context, projectID, path string, updates [][]byte, now time.Time) (first int64, err error) {
	if len(updates) == 0 {
		return 0, errors.New("collab append: no updates")
	}
	if s.tx == nil { // prepare before the transaction takes SQLite's writer
		queries := []string{collabBump, collabInsertN(min(len(updates), collabInsertRows))}
		if rest := len(updates) % collabInsertRows; rest != 0 && len(updates) > collabInsertRows {
			queries = append(queries, collabInsertN(rest))
		}
		for _, q := range queries {
			if _, err := s.prepared(ctx, q); err != nil {
				return 0, fmt.Errorf("append collab updates: %w", err)
			}
		}
	}
	err = s.InTx(ctx, func(tx *Store) error {
		bump, err := tx.prepared(ctx, collabBump)
		if err != nil {
			return err
		}
		var last int64
		if err := bump.QueryRowContext(ctx, len(updates), micros(now), projectID, path).Scan(&last); err != nil {
			return mapErr(err)
		}
		first = last - int64(len(updates)) + 1
		return tx.collabInsert(ctx, projectID, path, first, updates, micros(now))
	})
	if err != nil {
		return 0, fmt.Errorf("append collab updates: %w", err)
	}
	return first, nil
}

// collabInsert logs updates numbered from first, collabInsertRows a
// statement.
func (s *Store) collabInsert(ctx context.Context, projectID, path string, first int64, updates [][]byte, at int64) error {
	args := make([]any, 0, 5*min(len(updates), collabInsertRows))
	for len(updates) > 0 {
		n := min(len(updates), collabInsertRows)
		insert, err := s.prepared(ctx, collabInsertN(n))
		if err != nil {
			return err
		}
		args = args[:0]
		for i, u := range updates[:n] {
			args = append(args, projectID, path, first+int64(i), u, at)
		}
		if _, err := insert.ExecContext(ctx, args...); err != nil {
			return mapErr(err)
		}
		updates, first = updates[n:], first+int64(n)
	}
	return nil
}

// CollabCompact replaces the log up to seq by snapshot (the encoded state
// of a document that has integrated every update up to seq). An older
// snapshot than the stored one is ignored.
func (s *Store) CollabCompact(ctx context.Context, projectID, path string, snapshot []byte, seq int64, now time.Time) error {
	return s.InTx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, `UPDATE collab_docs SET snapshot_seq = ?, updated_at = ?
			WHERE project_id = ? AND path = ? AND snapshot_seq < ? AND last_seq >= ?`,
			seq, micros(now), projectID, path, seq, seq)
		if err != nil {
			return fmt.Errorf("compact collab doc: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.exec(ctx, `UPDATE collab_snapshots SET snapshot = ? WHERE project_id = ? AND path = ?`,
			snapshot, projectID, path); err != nil {
			return fmt.Errorf("compact collab doc: %w", err)
		}
		_, err = tx.exec(ctx, `DELETE FROM collab_updates WHERE project_id = ? AND path = ? AND seq <= ?`, projectID, path, seq)
		return err
	})
}

// CollabFileWritten records the SHA-256 of a text the document is about to
// write to its file (the previous one is kept: a crash between recording
// and writing leaves either on disk).
func (s *Store) CollabFileWritten(ctx context.Context, projectID, path, hash string) error {
	_, err := s.exec(ctx, `UPDATE collab_docs SET prev_file_hash = file_hash, file_hash = ?
		WHERE project_id = ? AND path = ? AND file_hash <> ?`, hash, projectID, path, hash)
	if err != nil {
		return fmt.Errorf("record collab file hash: %w", err)
	}
	return nil
}

// CollabLease takes or renews the lease of node on writing the document's
// file until until. It fails (false) while another node holds an unexpired
// lease.
func (s *Store) CollabLease(ctx context.Context, projectID, path, node string, now, until time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE collab_docs SET flusher = ?, flusher_until = ?
		WHERE project_id = ? AND path = ? AND (flusher = ? OR flusher_until < ?)`,
		node, micros(until), projectID, path, node, micros(now))
	if err != nil {
		return false, fmt.Errorf("collab lease: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CollabReleaseLease gives node's lease up (if it holds it).
func (s *Store) CollabReleaseLease(ctx context.Context, projectID, path, node string) error {
	_, err := s.exec(ctx, `UPDATE collab_docs SET flusher = '', flusher_until = 0
		WHERE project_id = ? AND path = ? AND flusher = ?`, projectID, path, node)
	return err
}
