package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"ecode/internal/client"
)

// checkpointMetrics creates a checkpoint and returns its id and metrics.
func checkpointMetrics(t *testing.T, ctx context.Context, c *client.Client, projectID string) (string, map[string]any) {
	t.Helper()
	var out struct {
		ID      string
		Metrics map[string]any
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+projectID+"/checkpoints", strings.NewReader(`{}`), "application/json", &out); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	return out.ID, out.Metrics
}

func restore(ctx context.Context, c *client.Client, projectID, cid string) (map[string]any, error) {
	var res map[string]any
	err := c.Do(ctx, "POST", "/api/projects/"+projectID+"/checkpoints/"+cid+"/restore", strings.NewReader(`{}`), "application/json", &res)
	return res, err
}

// TestCorruptProjectDatabase: a project whose .ecode/data.db is not a
// database can still be checkpointed (files kept, the database marked
// missing with the reason) and rolled back (files restored, the database
// problem reported in database_error).
func TestCorruptProjectDatabase(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	srv := startServer(t, data)
	c := srv.client()
	if _, err := c.Signup(ctx, "ada@example.test", "correct horse battery", "Ada"); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, "db", "blank")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, "app.txt", []byte("good")); err != nil {
		t.Fatal(err)
	}
	good, m := checkpointMetrics(t, ctx, c, p.ID)
	if m["db_error"] != nil {
		t.Fatalf("healthy database reported %v", m["db_error"])
	}
	dbPath := filepath.Join(data, "projects", p.ID, "files", ".ecode", "data.db")
	if err := os.WriteFile(dbPath, []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, "app.txt", []byte("broken")); err != nil {
		t.Fatal(err)
	}
	_, m = checkpointMetrics(t, ctx, c, p.ID)
	if msg, _ := m["db_error"].(string); msg == "" {
		t.Fatalf("checkpoint of a corrupt database: metrics %v, want db_error", m)
	}
	res, err := restore(ctx, c, p.ID, good)
	if err != nil {
		t.Fatalf("restore with a corrupt database: %v", err)
	}
	if msg, _ := res["database_error"].(string); msg == "" || res["db_restored"] != false {
		t.Fatalf("restore result %v: want database_error and db_restored false", res)
	}
	if b, err := c.ReadFile(ctx, p.ID, "app.txt"); err != nil || string(b) != "good" {
		t.Fatalf("files after the restore: %q, %v", b, err)
	}
}

// TestInodeFullProject: a project that has used every inode of its volume
// can still be checkpointed and rolled back: the restore checkpoints the
// present, then deletes what the target does not have to make room.
func TestInodeFullProject(t *testing.T) {
	ctx := context.Background()
	data := smallDisk(t, 256<<20)
	srv := startServer(t, data, "--project-disk", fmt.Sprint(8<<20), "--disk-reserve", fmt.Sprint(16<<20))
	c := srv.client()
	if _, err := c.Signup(ctx, "ada@example.test", "correct horse battery", "Ada"); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, "inodes", "blank")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, "app.txt", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	v1, _ := checkpointMetrics(t, ctx, c, p.ID)
	if err := c.WriteFile(ctx, p.ID, "app.txt", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	// Use up the volume's inodes.
	flood := filepath.Join(data, "projects", p.ID, "files", "flood")
	os.Mkdir(flood, 0o755)
	for i := 0; ; i++ {
		if i > 100_000 {
			t.Fatal("the volume never ran out of inodes")
		}
		err := os.WriteFile(filepath.Join(flood, fmt.Sprint(i)), nil, 0o644)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	_, m := checkpointMetrics(t, ctx, c, p.ID)
	if m["files"] == nil {
		t.Fatalf("checkpoint of an inode-full project: %v", m)
	}
	// The present was checkpointed first, so the restore may delete what
	// the checkpoint does not have to make room for staging.
	if _, err := restore(ctx, c, p.ID, v1); err != nil {
		t.Fatalf("restore in an inode-full project: %v", err)
	}
	if _, err := os.Stat(flood); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the files v1 does not have are still there: %v", err)
	}
	// Nothing is lost: the checkpoint made before the restore has them.
	var cps []struct {
		Message string
		Metrics map[string]any
	}
	if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/checkpoints", nil, "", &cps); err != nil {
		t.Fatal(err)
	}
	saved := false
	for _, cp := range cps {
		if files, _ := cp.Metrics["files"].(float64); files > 1000 {
			saved = true
		}
	}
	if !saved {
		t.Errorf("no checkpoint holds the flooded files: %+v", cps)
	}
	if b, err := c.ReadFile(ctx, p.ID, "app.txt"); err != nil || string(b) != "v1" {
		t.Fatalf("after the restore app.txt is %q, %v", b, err)
	}
}
