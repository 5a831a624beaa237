package volume

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func newManager(t *testing.T) *Manager {
	m, err := New(filepath.Join(t.TempDir(), "images"), 16<<20)
	if err != nil {
		if os.Getenv("ECODE_REQUIRE_SANDBOX") != "" {
			t.Fatalf("volumes required: %v", err)
		}
		t.Skipf("volumes unavailable here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestVolumeLimitsAndPersists(t *testing.T) {
	m := newManager(t)
	target := filepath.Join(t.TempDir(), "p1")
	if err := m.Attach(target, "p1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Attach(target, "p1"); err != nil {
		t.Fatalf("second attach: %v", err)
	}
	if ok, _ := isMountPoint(target); !ok {
		t.Fatal("not mounted")
	}
	os.WriteFile(filepath.Join(target, "keep.txt"), []byte("kept"), 0o644)

	// Fill it: the write fails with ENOSPC once the volume is full.
	f, err := os.Create(filepath.Join(target, "big"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	var written int
	for written < 64<<20 {
		n, err := f.Write(chunk)
		written += n
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("write error %v, want ENOSPC", err)
			}
			break
		}
	}
	f.Close()
	if written >= 16<<20 {
		t.Fatalf("wrote %d bytes into a 16 MiB volume", written)
	}
	os.Remove(filepath.Join(target, "big"))

	// Unmounted and mounted again (a server restart), the files are there.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, "keep.txt")); err == nil {
		t.Fatal("file visible while unmounted")
	}
	if err := m.Attach(target, "p1"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(target, "keep.txt")); err != nil || string(b) != "kept" {
		t.Fatalf("after remount: %q, %v", b, err)
	}
	if err := m.Remove(target, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m.image("p1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("image left after Remove: %v", err)
	}
}
