package secrets

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// TestProductionOverrides: a deployment's process gets the production value
// of a name over the project's, and the project's names that production
// does not set; every other use gets the development values only. Deleting
// the production value falls back to the project's.
func TestProductionOverrides(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		s := newService(t, st, filepath.Join(t.TempDir(), "master.key"))
		mustProject(t, st, "pp")
		mustProject(t, st, "other")
		for name, v := range map[string]string{"API_KEY": "dev-api-key-1", "DEV_ONLY": "dev-only-value"} {
			if _, err := s.Put(ctx, "pp", name, v); err != nil {
				t.Fatal(err)
			}
		}
		for name, v := range map[string]string{"API_KEY": "prod-api-key-1", "PROD_ONLY": "prod-only-value"} {
			if created, err := s.PutProduction(ctx, "pp", name, v); err != nil || !created {
				t.Fatalf("put production %s: %v %v", name, created, err)
			}
		}
		env, mask, err := s.Env(ctx, "pp", UseDeploy)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"API_KEY=prod-api-key-1", "DEV_ONLY=dev-only-value", "PROD_ONLY=prod-only-value"}
		if !slices.Equal(env, want) {
			t.Fatalf("deploy env %v, want %v", env, want)
		}
		if got := mask.String("key prod-api-key-1 here"); got == "key prod-api-key-1 here" {
			t.Fatalf("the production value is not masked in a deployment's output: %q", got)
		}
		for _, use := range []string{UseRun, UseExec, UseTerminal, UseAgent} {
			env, _, err := s.Env(ctx, "pp", use)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"API_KEY=dev-api-key-1", "DEV_ONLY=dev-only-value"}; !slices.Equal(env, want) {
				t.Fatalf("%s env %v, want %v", use, env, want)
			}
		}
		list, err := s.ListProduction(ctx, "pp")
		if err != nil || len(list) != 2 || list[0].Name != "API_KEY" || list[0].Scope != "production" {
			t.Fatalf("production list %+v %v", list, err)
		}
		if dev, _ := s.List(ctx, "pp"); len(dev) != 2 {
			t.Fatalf("the project's list shows production secrets: %+v", dev)
		}
		if other, _ := s.ListProduction(ctx, "other"); len(other) != 0 {
			t.Fatalf("another project sees production secrets: %+v", other)
		}
		if v, err := s.RevealProduction(ctx, "pp", "API_KEY"); err != nil || v != "prod-api-key-1" {
			t.Fatalf("reveal production: %q %v", v, err)
		}
		if err := s.DeleteProduction(ctx, "pp", "API_KEY"); err != nil {
			t.Fatal(err)
		}
		env, _, err = s.Env(ctx, "pp", UseDeploy)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"API_KEY=dev-api-key-1", "DEV_ONLY=dev-only-value", "PROD_ONLY=prod-only-value"}; !slices.Equal(env, want) {
			t.Fatalf("after the delete, deploy env %v, want %v", env, want)
		}
		if err := s.DeleteProduction(ctx, "pp", "API_KEY"); err != ErrNotFound {
			t.Fatalf("delete again: %v", err)
		}
		audit, err := s.ProductionAudit(ctx, "pp")
		if err != nil || len(audit) != 4 { // 2 creates, reveal, delete
			t.Fatalf("production audit %+v %v", audit, err)
		}
		if _, err := s.Verify(ctx); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	})
}
