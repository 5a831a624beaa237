package agentrun

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
)

// database lets the agent query the project's SQLite database (the one its
// app uses), read-only unless the agent asks to write.
type database struct {
	path string
}

const maxQueryRows = 200

func (d database) Query(ctx context.Context, query string, allowWrite bool) (string, error) {
	if _, err := os.Stat(d.path); err != nil {
		return "", fmt.Errorf("the project has no database yet")
	}
	mode := "ro"
	if allowWrite {
		mode = "rw"
	}
	db, err := sql.Open("sqlite", "file:"+d.path+"?mode="+mode+"&_pragma=busy_timeout(5000)")
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
