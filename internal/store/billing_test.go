package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestProjectOwnersOfManyIDs: ProjectOwnersOf answers for more ids than
// one statement binds, known ones at and around every chunk boundary and
// unknown ones among them, and for more ids than either engine allows
// bind parameters in one statement.
func TestProjectOwnersOfManyIDs(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mkUser(t, st, "ua", "a@x.test")
		mkUser(t, st, "ub", "b@x.test")
		n := 2*store.OwnersChunk + 200
		ids := make([]string, n)
		want := map[string]string{}
		for i := range ids {
			ids[i] = fmt.Sprintf("p%05d", i)
			if i%7 == 3 {
				continue // unknown
			}
			owner := []string{"ua", "ub"}[i%2]
			if _, err := st.CreateProject(ctx, store.Project{ID: ids[i], Name: ids[i], OwnerID: owner, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			want[ids[i]] = owner
		}
		got, err := st.ProjectOwnersOf(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("owners (-want +got):\n%s", diff)
		}

		many := make([]string, 70_000) // over PostgreSQL's 65535 and SQLite's 32766
		for i := range many {
			many[i] = fmt.Sprintf("unknown%05d", i)
		}
		many[len(many)-1] = "p00000"
		got, err = st.ProjectOwnersOf(ctx, many)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"p00000": "ua"}, got); diff != "" {
			t.Errorf("owners of 70000 ids (-want +got):\n%s", diff)
		}
	})
}
