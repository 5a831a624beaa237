package api_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"ecode/internal/checkpoint"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestCheckpointsOnS3: a server started with --object-store=s3 keeps its
// checkpoint objects in the bucket (an in-memory S3 server on loopback),
// none in the data directory, and checkpoints, restores and collects
// through it.
func TestCheckpointsOnS3(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		mem := s3mem.New()
		s3 := httptest.NewServer(gofakes3.New(mem).Server())
		t.Cleanup(s3.Close)
		u, _ := url.Parse(s3.URL)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			c.ObjectStore, c.S3Endpoint, c.S3Bucket, c.S3Insecure = "s3", u.Host, "cluster-objects", true
			c.S3AccessKey, c.S3SecretKey = "ak", "sk"
		}})
		if _, ok := srv.Repo.Objects().(*checkpoint.S3Store); !ok {
			t.Fatalf("object store is %T, want *checkpoint.S3Store", srv.Repo.Objects())
		}
		c := srv.User(t, "owner")
		ctx := context.Background()
		p, err := c.CreateProject(ctx, "s3", "static")
		if err != nil {
			t.Fatal(err)
		}
		c.WriteFile(ctx, p.ID, "index.html", []byte("<h1>one</h1>"))
		var cp1 checkpointJSON
		if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{"message":"one"}`), "application/json", &cp1); err != nil {
			t.Fatal(err)
		}
		objs, err := mem.ListBucket("cluster-objects", nil, gofakes3.ListBucketPage{})
		if err != nil || len(objs.Contents) == 0 {
			t.Fatalf("bucket after a checkpoint: %v, %v", objs, err)
		}
		if es, _ := os.ReadDir(filepath.Join(srv.Dir, "objects")); len(es) != 0 {
			t.Errorf("objects written to the data directory too: %v", es)
		}
		c.WriteFile(ctx, p.ID, "index.html", []byte("<h1>two</h1>"))
		c.WriteFile(ctx, p.ID, "later.txt", []byte("later"))
		if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints/"+cp1.ID+"/restore", nil, "", nil); err != nil {
			t.Fatal(err)
		}
		if b, _ := c.ReadFile(ctx, p.ID, "index.html"); string(b) != "<h1>one</h1>" {
			t.Errorf("index.html after restore: %q", b)
		}
		if _, err := c.ReadFile(ctx, p.ID, "later.txt"); err == nil {
			t.Error("a file created after the checkpoint survived the restore")
		}
		if _, err := srv.History.GC(ctx); err != nil {
			t.Fatal(err)
		}
		if rep, err := srv.History.Fsck(ctx); err != nil || !rep.OK() || rep.Checked == 0 {
			t.Fatalf("fsck after GC: %+v, %v", rep, err)
		}
	})
}
