package agentrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Writes go to the live-edit hook when it takes them; when it fails the
// file is written and Changed told, as without the hook.
func TestWriteFileGoesThroughAgentEdit(t *testing.T) {
	_, _, projectID, ws := newService(t)
	var edited, changed []string
	fail := false
	f := files{ws: ws, projectID: projectID,
		changed: func(_ context.Context, _, p string) { changed = append(changed, p) },
		edit: func(_ context.Context, pid, p, text string) error {
			if pid != projectID {
				t.Errorf("project %q", pid)
			}
			edited = append(edited, p+"="+text)
			if fail {
				return errors.New("not open")
			}
			return nil
		}}
	ctx := context.Background()
	if err := f.WriteFile(ctx, "a.txt", []byte("live\n")); err != nil {
		t.Fatal(err)
	}
	if len(edited) != 1 || edited[0] != "a.txt=live\n" || len(changed) != 0 {
		t.Fatalf("edited %q changed %q", edited, changed)
	}
	if _, err := os.Stat(filepath.Join(ws.Dir(projectID), "a.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the hook took the write, yet the file was written too (%v)", err)
	}
	fail = true
	if err := f.WriteFile(ctx, "a.txt", []byte("fallback\n")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ws.Dir(projectID), "a.txt")); err != nil || string(b) != "fallback\n" {
		t.Fatalf("file %q, %v", b, err)
	}
	if len(changed) != 1 || changed[0] != "a.txt" {
		t.Fatalf("changed %q", changed)
	}
	// binary content never goes to the editors
	if err := f.WriteFile(ctx, "b.bin", []byte{0xff, 0xfe}); err != nil {
		t.Fatal(err)
	}
	if len(edited) != 2 {
		t.Fatalf("binary write went to the hook: %q", edited)
	}
}
