package workspace

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io/fs"
)

// heavyDirs are folders whose insides ListingVersion does not visit: they
// are large, change in bulk, and nobody browses them file by file.
var heavyDirs = map[string]bool{"node_modules": true, ".git": true, ".venv": true, "__pycache__": true, ".cache": true}

// ListingVersion names the project's folder listing as it is now: it
// changes when an entry is added, removed or renamed anywhere (a folder's
// modification time changes then), except inside heavyDirs. Cheap enough
// to poll: it stats folders only.
func (p *Project) ListingVersion() (string, error) {
	h := sha256.New()
	var b [8]byte
	err := fs.WalkDir(p.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished while walking: the parent's time changed too
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		h.Write([]byte(name))
		binary.LittleEndian.PutUint64(b[:], uint64(info.ModTime().UnixNano()))
		h.Write(b[:])
		if name != "." && (heavyDirs[d.Name()] || name == ".ecode") {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}
