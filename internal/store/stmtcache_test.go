package store_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// A statement prepared outside a transaction waits for SQLite's one writer
// connection while a transaction holds it; the transaction must still be
// able to prepare its next statement. The cache's lock was held across
// that wait, and two documents' log appends deadlocked (one waiting for
// the writer with the lock, the other holding the writer and waiting for
// the lock), which hung every collaborative room of the process.
func TestPrepareWaitingForTheWriterLetsTheTransactionGoOn(t *testing.T) {
	st := testutil.NewStore(t, store.SQLite)
	ctx := context.Background()
	inTx, goOn := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- st.InTx(ctx, func(tx *store.Store) error {
			close(inTx)
			<-goOn
			return tx.Prepared(ctx, "SELECT 2")
		})
	}()
	<-inTx
	waits := st.WriterWaits()
	outDone := make(chan error, 1)
	go func() { outDone <- st.Prepared(ctx, "SELECT 1") }()
	// the prepare outside waits for the writer the transaction holds
	deadline := time.Now().Add(10 * time.Second)
	for st.WriterWaits() == waits {
		if time.Now().After(deadline) {
			t.Fatal("the prepare outside the transaction never waited for the writer")
		}
		runtime.Gosched()
	}
	close(goOn)
	for _, c := range []struct {
		what string
		done chan error
	}{{"the transaction", txDone}, {"the prepare outside it", outDone}} {
		select {
		case err := <-c.done:
			if err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s is stuck: the statement cache deadlocked", c.what)
		}
	}
}
