package agentrun

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
)

// database lets the agent query the project's database (the one its app
// uses), read-only unless the agent asks to write: a SQLite file, or a
// PostgreSQL database reached with the project's own role (so nothing else
// on that server is in reach).
type database struct {
	url string // "sqlite:" + path, or postgres://
}

const maxQueryRows = 200

func (d database) Query(ctx context.Context, query string, allowWrite bool) (string, error) {
	if strings.HasPrefix(d.url, "postgres://") || strings.HasPrefix(d.url, "postgresql://") {
		return d.queryPostgres(ctx, query, allowWrite)
	}
	path := strings.TrimPrefix(d.url, "sqlite:")
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("the project has no database yet")
	}
	mode := "ro"
	if allowWrite {
		mode = "rw"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode="+mode+"&_pragma=busy_timeout(5000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	return table(rows)
}

// queryPostgres runs query in a transaction, read-only unless allowWrite;
// a read-only one is rolled back, a writing one committed.
func (d database) queryPostgres(ctx context.Context, query string, allowWrite bool) (string, error) {
	db, err := sql.Open("pgx", d.url)
	if err != nil {
		return "", err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: !allowWrite})
	if err != nil {
		return "", fmt.Errorf("connect to the project database: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return "", err
	}
	out, err := table(rows)
	rows.Close()
	if err != nil || !allowWrite {
		return out, err
	}
	return out, tx.Commit()
}

// table renders rows as tab-separated lines under a header, at most
// maxQueryRows of them.
func table(rows *sql.Rows) (string, error) {
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	if len(cols) == 0 { // a statement without results
		return "ok", rows.Err()
	}
	var b strings.Builder
	b.WriteString(strings.Join(cols, "\t") + "\n")
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if n++; n > maxQueryRows {
			fmt.Fprintf(&b, "… more rows (showing the first %d)\n", maxQueryRows)
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				cells[i] = "NULL"
			case []byte:
				cells[i] = string(v)
			default:
				cells[i] = fmt.Sprint(v)
			}
		}
		b.WriteString(strings.Join(cells, "\t") + "\n")
	}
	return b.String(), rows.Err()
}
