// Command ledgerbench measures the billing ledger on SQLite and PostgreSQL:
// ingest (priced events with idempotency keys and their rollups, 1,000 per
// transaction) beside the plain usage_events insert it replaced, and a
// month's statement from the rollups beside a recomputation from the raw
// entries; it prints events/s, times and ratios.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ecode/internal/billing"
	"ecode/internal/store"
)

func main() {
	n := flag.Int("n", 1_000_000, "events per engine")
	pg := flag.String("postgres", os.Getenv("ECODE_TEST_POSTGRES_URL"), "PostgreSQL URL (empty: SQLite only); the bench works in a schema of its own, dropped at the end")
	flag.Parse()
	dir, err := os.MkdirTemp("", "ledgerbench")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	urls := []string{filepath.Join(dir, "bench.db")}
	if *pg != "" {
		url, drop, err := pgSchema(*pg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ledgerbench:", err)
			os.Exit(1)
		}
		defer drop()
		urls = append(urls, url)
	}
	for _, url := range urls {
		if err := run(url, *n); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerbench:", err)
			os.Exit(1)
		}
	}
}

func run(url string, n int) error {
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	run := fmt.Sprint(time.Now().UnixNano())
	acct := "bench-" + run
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const batch = 1000
	start := time.Now()
	for i := 0; i < n; i += batch {
		es := make([]store.LedgerEntry, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			at := month.Add(time.Duration(j%(30*24)) * time.Hour)
			es = append(es, store.LedgerEntry{ID: fmt.Sprint(run, "-", j), IdempotencyKey: fmt.Sprint(run, ":", j), AccountID: acct,
				ProjectID: fmt.Sprint("p", j%20), Meter: billing.Meters[j%len(billing.Meters)], Quantity: int64(j % 1000), Unit: "u",
				AmountMicros: int64(j % 977), Day: at.Format("2006-01-02"), CreatedAt: at})
		}
		if _, err := st.AppendLedger(ctx, es); err != nil {
			return err
		}
	}
	ledger := time.Since(start)
	start = time.Now()
	for i := 0; i < n; i += batch {
		err := st.InTx(ctx, func(tx *store.Store) error {
			for j := i; j < min(i+batch, n); j++ {
				if _, err := tx.RecordUsage(ctx, store.UsageEvent{ID: fmt.Sprint(run, "-u", j), IdempotencyKey: fmt.Sprint(run, ":u", j),
					ProjectID: fmt.Sprint("p", j%20), Kind: "sandbox_cpu_seconds", Quantity: float64(j % 1000), Unit: "cpu-second",
					CreatedAt: month}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	plain := time.Since(start)
	svc := billing.New(st, billing.Options{Now: func() time.Time { return month }})
	start = time.Now()
	u, err := svc.Usage(ctx, acct, "2026-11")
	if err != nil {
		return err
	}
	fromRollups := time.Since(start)
	start = time.Now()
	raw, err := st.LedgerRecompute(ctx, acct, "2026-11-01", "2026-11-30")
	if err != nil {
		return err
	}
	fromRaw := time.Since(start)
	var rawTotal int64
	for _, r := range raw {
		rawTotal += r.AmountMicros
	}
	if rawTotal != u.TotalMicros {
		return fmt.Errorf("statement total %d differs from the raw sum %d", u.TotalMicros, rawTotal)
	}
	fmt.Printf("%s, %d events:\n", st.Engine(), n)
	fmt.Printf("  ingest: ledger %.0f events/s, plain usage_events %.0f events/s (ledger/plain %.2f)\n",
		float64(n)/ledger.Seconds(), float64(n)/plain.Seconds(), plain.Seconds()/ledger.Seconds())
	fmt.Printf("  month's statement: from rollups %v, recomputed from raw entries %v (%.0fx faster), totals equal\n",
		fromRollups.Round(time.Microsecond), fromRaw.Round(time.Microsecond), fromRaw.Seconds()/fromRollups.Seconds())
	return nil
}

// pgSchema makes a schema of the bench's own and returns the URL using it.
func pgSchema(url string) (string, func(), error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprint("ledgerbench_", time.Now().UnixNano())
	if _, err := db.Exec("CREATE SCHEMA " + name); err != nil {
		db.Close()
		return "", nil, err
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + name, func() {
		db.Exec("DROP SCHEMA " + name + " CASCADE")
		db.Close()
	}, nil
}
