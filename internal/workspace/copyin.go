package workspace

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// CopyIn copies the regular files and folders under src (a folder on the
// host, e.g. a finished import's staging folder) into the project, keeping
// their executable bits. Symbolic links and other special files in src are
// skipped. Files are written in place, not one by one atomically: CopyIn is
// for a project nobody sees yet, whose creator removes it on error.
func (p *Project) CopyIn(src string) error {
	return filepath.WalkDir(src, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, full)
		if err != nil || rel == "." {
			return err
		}
		name, err := p.clean(filepath.ToSlash(rel), false)
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return p.mkdirAll(name)
		case !d.Type().IsRegular():
			return nil
		}
		return p.copyFile(full, name)
	})
}

func (p *Project) copyFile(from, name string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	if err := p.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	out, err := p.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return mapErr(err)
	}
	if uid, gid, ok := p.owner(); ok {
		err = out.Chown(uid, gid)
	}
	if err == nil {
		_, err = out.ReadFrom(in)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
