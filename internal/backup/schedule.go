package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Scheduled backups are files named by their time in one folder.
const (
	filePrefix = "ecode-backup-"
	fileSuffix = ".tar.gz"
)

// Info describes a backup file of the folder.
type Info struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created_at"`
}

// FileName is the name of a backup made at t.
func FileName(t time.Time) string {
	return filePrefix + t.UTC().Format("20060102T150405.000000Z") + fileSuffix
}

// List returns the backups in dir, newest first (none when dir is missing).
func List(dir string) ([]Info, error) {
	des, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []Info{}
	for _, de := range des {
		stamp, ok := strings.CutPrefix(de.Name(), filePrefix)
		if stamp, ok = strings.CutSuffix(stamp, fileSuffix); !ok || !de.Type().IsRegular() {
			continue
		}
		t, err := time.Parse("20060102T150405.000000Z", stamp)
		if err != nil {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		out = append(out, Info{Name: de.Name(), Size: fi.Size(), Created: t})
	}
	slices.SortFunc(out, func(a, b Info) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// WriteFile makes a backup of src in dir (created if missing): written
// under a temporary name, synced, then renamed, so a listed backup is a
// whole one.
func WriteFile(ctx context.Context, dir string, src Source) (Info, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Info{}, err
	}
	f, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return Info{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if src.TempDir == "" {
		src.TempDir = dir
	}
	m, err := Create(ctx, f, src)
	if err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	name := FileName(m.Created)
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return Info{}, err
	}
	return Info{Name: name, Size: fi.Size(), Created: m.Created}, nil
}

// Prune deletes all but the newest keep backups in dir and returns their names.
func Prune(dir string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("backup: keep %d: at least one", keep)
	}
	all, err := List(dir)
	if err != nil || len(all) <= keep {
		return nil, err
	}
	var removed []string
	for _, b := range all[keep:] {
		if err := os.Remove(filepath.Join(dir, b.Name)); err != nil && !os.IsNotExist(err) {
			return removed, err
		}
		removed = append(removed, b.Name)
	}
	return removed, nil
}
