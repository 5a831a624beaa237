package store_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// BenchmarkCollabAppend logs one small update per transaction into a
// document whose snapshot is small or large (as the room's log writer does
// at low load): the cost of a transaction should not grow with the
// document.
func BenchmarkCollabAppend(b *testing.B) {
	for _, size := range []int{100, 4 << 10, 16 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("snapshot=%d", size), func(b *testing.B) {
			st, ctx := collabBenchDoc(b, size), context.Background()
			up := [][]byte{make([]byte, 30)}
			b.ResetTimer()
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := st.CollabAppend(ctx, "p1", "a.txt", up, t0); err != nil {
					b.Fatal(err)
				}
			}
			// the machine may be shared: CPU time says more than wall time
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkCollabAppendBatch logs 8 small updates per transaction (as the
// room's log writer does when several edits share its window).
func BenchmarkCollabAppendBatch(b *testing.B) {
	st, ctx := collabBenchDoc(b, 100), context.Background()
	ups := make([][]byte, 8)
	for i := range ups {
		ups[i] = make([]byte, 30)
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := st.CollabAppend(ctx, "p1", "a.txt", ups, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

// collabBenchDoc is a SQLite store with one project and its document
// "a.txt", seeded with a snapshot of size bytes.
func collabBenchDoc(b *testing.B, size int) *store.Store {
	st := testutil.NewStore(b, store.SQLite)
	ctx := context.Background()
	mkUser(b, st, "ua", "a@x.test")
	if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "One", Template: "node", OwnerID: "ua", CreatedAt: t0, UpdatedAt: t0}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CollabSeed(ctx, "p1", "a.txt", make([]byte, size), "h", t0); err != nil {
		b.Fatal(err)
	}
	return st
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
