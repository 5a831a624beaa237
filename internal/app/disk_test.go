package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ecode/internal/client"
)

// smallDisk mounts a fresh ext4 file system of size bytes (a loop-mounted
// image) and returns its mount point. It needs root: without it the test
// is skipped, unless ECODE_REQUIRE_SANDBOX says this machine must run it.
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("ECODE_REQUIRE_SANDBOX") != "" {
			t.Fatal("ECODE_REQUIRE_SANDBOX is set but the test is not root: it cannot mount a small disk")
		}
		t.Skip("mounting a small disk needs root")
	}
	base := t.TempDir()
	img, mnt := filepath.Join(base, "disk.img"), filepath.Join(base, "mnt")
	f, err := os.Create(img)
	if err == nil {
		err = f.Truncate(size)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(mnt, 0o755)
	for _, cmd := range [][]string{{"mkfs.ext4", "-q", "-F", "-m", "0", img}, {"mount", "-o", "loop", img, mnt}} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", cmd, err, out)
		}
	}
	t.Cleanup(func() { // after the servers (cleanups run last first)
		if err := unix.Unmount(mnt, 0); err != nil {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	return mnt
}

// diskFree is what the file system at dir has free.
func diskFree(t *testing.T, dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// wantDiskFull checks err is the 507 disk_full answer saying msg.
func wantDiskFull(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusInsufficientStorage || ce.Code != "disk_full" || !strings.Contains(ce.Message, msg) {
		t.Fatalf("%s: %v; want 507 disk_full saying %q", what, err, msg)
	}
}

func get(t *testing.T, c *client.Client, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.BaseURL+path, nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSmallDataDisk runs a server on a 96 MiB data disk with 32 MiB
// project volumes and a 16 MiB reserve: a third volume is refused (it
// could not be backed), and once the disk is filled below the reserve new
// projects, checkpoints and uploads are refused with 507 while sign-in
// works and /readyz says why; when space returns everything works again.
// Deleting files in a project gives their space back to the data disk.
func TestSmallDataDisk(t *testing.T) {
	ctx := context.Background()
	data := smallDisk(t, 96<<20)
	srv := startServer(t, data, "--project-disk", fmt.Sprint(32<<20), "--disk-reserve", fmt.Sprint(16<<20), "--max-file-bytes", fmt.Sprint(16<<20))
	c := srv.client()
	if _, err := c.Signup(ctx, "ada@example.test", "correct horse battery", "Ada"); err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateProject(ctx, "a", "blank")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateProject(ctx, "b", "blank")
	if err != nil {
		t.Fatal(err)
	}
	// Admission: 3 × 32 MiB + the reserve is more than the disk.
	_, err = c.CreateProject(ctx, "c", "blank")
	wantDiskFull(t, "third project", err, "cannot hold another project of 32.0 MiB")
	if es, _ := os.ReadDir(filepath.Join(data, "volumes")); len(es) != 2 {
		t.Fatalf("volumes after a refusal: %v", es)
	}
	if err := c.Do(ctx, "DELETE", "/api/projects/"+b.ID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateProject(ctx, "c", "blank"); err != nil {
		t.Fatalf("a project once another was deleted: %v", err)
	}

	// Deleting files in a project frees space on the data disk (the volume
	// is mounted with discard).
	blob := make([]byte, 12<<20)
	rand.Read(blob)
	before := diskFree(t, data)
	if err := c.Upload(ctx, a.ID, "", map[string][]byte{"big.bin": blob}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteFile(ctx, a.ID, "big.bin"); err != nil {
		t.Fatal(err)
	}
	// ext4 discards freed blocks when its journal commits; a sync forces the
	// commit (a few times: the loop device punches the holes after it).
	freed := false
	for range 20 {
		unix.Sync()
		if diskFree(t, data) > before-4<<20 {
			freed = true
			break
		}
	}
	if !freed {
		t.Errorf("deleting a 12 MiB file left the data disk at %d bytes free (before: %d)", diskFree(t, data), before)
	}

	// Fill the data disk to below the reserve (8 MiB left).
	filler := filepath.Join(data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, diskFree(t, data)-8<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Sign-in and sessions keep working.
	c2 := srv.client()
	if _, err := c2.Login(ctx, "ada@example.test", "correct horse battery"); err != nil {
		t.Fatalf("sign-in on a full disk: %v", err)
	}
	if _, err := c2.Projects(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c2.CreateProject(ctx, "d", "blank")
	wantDiskFull(t, "project on a full disk", err, "nearly full")
	err = c2.Do(ctx, "POST", "/api/projects/"+a.ID+"/checkpoints", strings.NewReader(`{}`), "application/json", nil)
	wantDiskFull(t, "checkpoint on a full disk", err, "nearly full")
	err = c2.Upload(ctx, a.ID, "", map[string][]byte{"x.txt": []byte("x")})
	wantDiskFull(t, "upload on a full disk", err, "nearly full")
	if code, body := get(t, c2, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "data_disk") {
		t.Fatalf("/readyz on a full disk: %d %s", code, body)
	}
	if code, body := get(t, c2, "/metrics"); code != http.StatusOK || !strings.Contains(body, "ecode_data_disk_free_bytes ") {
		t.Fatalf("/metrics: %d, gauge missing", code)
	}

	// Space returns: nothing is stuck.
	os.Remove(filler)
	if code, body := get(t, c2, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz once space returned: %d %s", code, body)
	}
	if err := c2.Upload(ctx, a.ID, "", map[string][]byte{"x.txt": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := c2.Do(ctx, "POST", "/api/projects/"+a.ID+"/checkpoints", strings.NewReader(`{}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	if err := c2.Do(ctx, "DELETE", "/api/projects/"+a.ID, nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.CreateProject(ctx, "d", "blank"); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointQuota: a project's checkpoints count against its
// allowance; over it a new checkpoint is refused with 507, while a restore
// (whose checkpoint of the present is exempt) still works.
func TestCheckpointQuota(t *testing.T) { forEachEngine(t, checkpointQuota) }

func checkpointQuota(t *testing.T, args []string) {
	ctx := context.Background()
	data := t.TempDir()
	srv := startServer(t, data, append(args, "--checkpoint-quota", fmt.Sprint(1<<20))...)
	c := srv.client()
	if _, err := c.Signup(ctx, "ada@example.test", "correct horse battery", "Ada"); err != nil {
		t.Fatal(err)
	}
	p, err := c.CreateProject(ctx, "q", "blank")
	if err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 2<<20) // random: it does not compress
	rand.Read(blob)
	if err := c.Upload(ctx, p.ID, "", map[string][]byte{"big.bin": blob}); err != nil {
		t.Fatal(err)
	}
	first := checkpointNow(t, ctx, c, p.ID, "first")
	if err := c.WriteFile(ctx, p.ID, "a.txt", []byte("more")); err != nil {
		t.Fatal(err)
	}
	err = c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints", strings.NewReader(`{}`), "application/json", nil)
	wantDiskFull(t, "checkpoint over the allowance", err, "over its allowance of 1.0 MiB")
	var res map[string]any
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/checkpoints/"+first+"/restore", strings.NewReader(`{}`), "application/json", &res); err != nil {
		t.Fatalf("restore over the allowance: %v", err)
	}
	if _, err := c.ReadFile(ctx, p.ID, "a.txt"); err == nil {
		t.Fatal("the restore did not happen")
	}
}
