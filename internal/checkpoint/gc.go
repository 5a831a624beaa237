package checkpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// RefLister calls fn with the refs of every checkpoint that must be kept
// (all projects sharing the object store); store.ListCheckpointRefs fits.
type RefLister func(ctx context.Context, fn func(Refs) error) error

// GCOptions tune GC.
type GCOptions struct {
	// Grace keeps objects written or re-put less than this long before the
	// collection started, for checkpoints being created by other processes
	// that are not yet recorded (default 1 hour; Create in this process is
	// excluded by a lock regardless).
	Grace time.Duration
	// DryRun counts what would be deleted.
	DryRun bool
	// NoRepack skips gathering small objects into a pack file (DirStore).
	NoRepack bool
}

// GCStats says what GC found.
type GCStats struct {
	Objects      int   // objects in the store before
	Referenced   int   // reachable from a kept checkpoint
	Deleted      int   // unreferenced and older than the grace period
	DeletedBytes int64 // their stored size
	Young        int   // unreferenced but within the grace period (kept)
	Repack       RepackStats
}

// GC deletes the objects no kept checkpoint references (mark and sweep).
// Creates and restores in this process wait while it runs; objects younger
// than the grace period are never deleted.
func (r *Repo) GC(ctx context.Context, refs RefLister, opt GCOptions) (GCStats, error) {
	if opt.Grace == 0 {
		opt.Grace = time.Hour
	}
	r.gcMu.Lock()
	defer r.gcMu.Unlock()
	cutoff := time.Now().Add(-opt.Grace)
	marked := map[Hash]bool{}
	l := &loader{ctx: ctx, objects: r.objects}
	err := refs(ctx, func(rf Refs) error {
		for _, h := range []Hash{rf.DB, rf.Conversation} {
			if h != "" {
				marked[h] = true
			}
		}
		if rf.Manifest != "" {
			return markTree(l, rf.Manifest, marked, false)
		}
		return nil
	})
	if err != nil {
		return GCStats{}, fmt.Errorf("gc: mark: %w", err)
	}
	if ep, ok := r.objects.(epocher); ok && !opt.DryRun {
		if err := ep.NewEpoch(); err != nil {
			return GCStats{}, fmt.Errorf("gc: %w", err)
		}
	}
	var st GCStats
	var doomed []ObjectInfo
	young := map[Hash]bool{}
	err = r.objects.List(ctx, func(o ObjectInfo) error {
		st.Objects++
		switch {
		case marked[o.Hash]:
			st.Referenced++
		case !o.ModTime.Before(cutoff):
			st.Young++
			young[o.Hash] = true
		default:
			doomed = append(doomed, o)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("gc: list: %w", err)
	}
	for _, o := range doomed {
		if !opt.DryRun {
			if err := r.objects.Delete(ctx, o.Hash); err != nil {
				return st, fmt.Errorf("gc: %w", err)
			}
			hook("delete")
		}
		st.Deleted++
		st.DeletedBytes += o.Size
	}
	if ds, ok := r.objects.(*DirStore); ok && !opt.DryRun {
		ds.Cleanup()
		if !opt.NoRepack {
			keep := func(h Hash) bool { return marked[h] || young[h] }
			if st.Repack, err = ds.Repack(ctx, keep, cutoff, 64<<10); err != nil {
				return st, fmt.Errorf("gc: repack: %w", err)
			}
		}
	}
	return st, nil
}

// markTree marks a tree, its subtrees and its files. With verify, a missing
// or corrupt tree is an error; otherwise too (a kept checkpoint that cannot
// be read must not let GC delete what it may reference).
func markTree(l *loader, h Hash, marked map[Hash]bool, verify bool) error {
	if marked[h] {
		return nil
	}
	es, err := l.tree(h)
	if err != nil {
		return fmt.Errorf("tree %s: %w", h, err)
	}
	marked[h] = true
	for _, e := range es {
		switch e.Type {
		case TypeDir:
			if err := markTree(l, e.Hash, marked, verify); err != nil {
				return err
			}
		case TypeFile:
			marked[e.Hash] = true
		}
	}
	return nil
}

// FsckReport lists what Fsck found wrong.
type FsckReport struct {
	Checked int      // objects read and hashed
	Missing []Hash   // referenced but absent
	Corrupt []Hash   // present but hashing to something else (or unreadable)
	Errors  []string // trees that could not be parsed, and similar
}

// OK reports whether nothing is wrong.
func (f FsckReport) OK() bool { return len(f.Missing)+len(f.Corrupt)+len(f.Errors) == 0 }

// Fsck checks that every object the checkpoints reference is present and
// hashes to its name (each is read once).
func (r *Repo) Fsck(ctx context.Context, refs RefLister) (FsckReport, error) {
	var rep FsckReport
	seen := map[Hash]bool{}
	var check func(h Hash, isTree bool) error
	check = func(h Hash, isTree bool) error {
		if h == "" || seen[h] {
			return nil
		}
		seen[h] = true
		if !h.Valid() {
			rep.Errors = append(rep.Errors, fmt.Sprintf("invalid hash %q", h))
			return nil
		}
		rc, err := r.objects.Get(ctx, h)
		if errors.Is(err, ErrObjectNotFound) {
			rep.Missing = append(rep.Missing, h)
			return nil
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		hw := sha256.New()
		var body []byte
		var w io.Writer = hw
		var buf *limitedBuffer
		if isTree {
			buf = &limitedBuffer{max: maxTreeBytes}
			w = io.MultiWriter(hw, buf)
		}
		_, err = io.Copy(w, rc)
		rep.Checked++
		if err != nil || Hash(hex.EncodeToString(hw.Sum(nil))) != h {
			rep.Corrupt = append(rep.Corrupt, h)
			return nil
		}
		if !isTree {
			return nil
		}
		body = buf.b
		es, err := decodeTree(body)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("tree %s: %v", h, err))
			return nil
		}
		for _, e := range es {
			if !validName(e.Name) {
				rep.Errors = append(rep.Errors, fmt.Sprintf("tree %s: bad name %q", h, e.Name))
			}
			switch e.Type {
			case TypeDir:
				if err := check(e.Hash, true); err != nil {
					return err
				}
			case TypeFile:
				if err := check(e.Hash, false); err != nil {
					return err
				}
			case TypeSymlink:
			default:
				rep.Errors = append(rep.Errors, fmt.Sprintf("tree %s: %s has unknown type %q", h, e.Name, e.Type))
			}
		}
		return nil
	}
	err := refs(ctx, func(rf Refs) error {
		if rf.Manifest == "" {
			rep.Errors = append(rep.Errors, "checkpoint without a manifest")
		}
		if err := check(rf.Manifest, true); err != nil {
			return err
		}
		if err := check(rf.DB, false); err != nil {
			return err
		}
		return check(rf.Conversation, false)
	})
	slices.Sort(rep.Missing)
	slices.Sort(rep.Corrupt)
	return rep, err
}

type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b)+len(p) > l.max {
		return 0, errors.New("tree too large")
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

// RetentionPolicy says which checkpoints to keep; a checkpoint is kept if
// any rule keeps it.
type RetentionPolicy struct {
	KeepLast   int           // the newest n of each project
	KeepWithin time.Duration // those younger than this
}

// RetentionItem is what Expired needs to know of a checkpoint.
type RetentionItem struct {
	ID        string
	CreatedAt time.Time
	Pinned    bool // never expires (e.g. deployed, or named by the user)
}

// Expired returns the ids of one project's checkpoints the policy lets go
// (delete their records, then GC reclaims their objects).
func Expired(items []RetentionItem, now time.Time, p RetentionPolicy) []string {
	s := slices.Clone(items)
	slices.SortStableFunc(s, func(a, b RetentionItem) int { return b.CreatedAt.Compare(a.CreatedAt) })
	var out []string
	for i, it := range s {
		if it.Pinned || i < p.KeepLast || (p.KeepWithin > 0 && now.Sub(it.CreatedAt) < p.KeepWithin) {
			continue
		}
		out = append(out, it.ID)
	}
	return out
}
