package workspace

import (
	"archive/zip"
	"io"
	"io/fs"
	"path"
)

// Upload is one file of a multi-file upload.
type Upload struct {
	Path string
	Body io.Reader
}

// Uploaded is a file written by WriteAll.
type Uploaded struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// WriteAll writes several files all or nothing: each file that next returns
// (until it returns io.EOF) is first written to a temporary file beside its
// destination; only when all are written are they renamed into place. On
// error every temporary file is removed.
func (p *Project) WriteAll(next func() (Upload, error), limit int64) ([]Uploaded, error) {
	if p.space != nil {
		if err := p.space(); err != nil {
			return nil, err
		}
	}
	type staged struct {
		tmp, dst string
		size     int64
	}
	var done []staged
	cleanup := func() {
		for _, s := range done {
			p.root.Remove(s.tmp)
		}
	}
	for {
		f, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		dst, err := p.clean(f.Path, false)
		if err != nil {
			cleanup()
			return nil, err
		}
		if info, err := p.root.Lstat(dst); err == nil && info.IsDir() {
			cleanup()
			return nil, ErrIsDir
		}
		if err := p.mkdirAll(path.Dir(dst)); err != nil {
			cleanup()
			return nil, err
		}
		cw := &countingReader{r: f.Body}
		tmp, err := p.writeTemp(path.Dir(dst), cw, limit)
		if err != nil {
			cleanup()
			return nil, err
		}
		done = append(done, staged{tmp: tmp, dst: dst, size: cw.n})
	}
	out := make([]Uploaded, 0, len(done))
	for i, s := range done {
		if err := p.root.Rename(s.tmp, s.dst); err != nil {
			for _, rest := range done[i:] {
				p.root.Remove(rest.tmp)
			}
			return out, mapErr(err)
		}
		out = append(out, Uploaded{Path: s.dst, Size: s.size})
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// Zip writes the project as a zip archive to w. Symlinks are stored as
// links; temporary files are left out.
func (p *Project) Zip(w io.Writer) error {
	zw := zip.NewWriter(w)
	fsys := p.root.FS()
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == "." {
			return err
		}
		if isTemp(d.Name()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		hdr, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		hdr.Name = name
		if d.IsDir() {
			hdr.Name += "/"
			_, err := zw.CreateHeader(hdr)
			return err
		}
		hdr.Method = zip.Deflate
		out, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := p.root.Readlink(name)
			if err != nil {
				return err
			}
			_, err = io.WriteString(out, target)
			return err
		}
		f, err := fsys.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(out, f)
		return err
	})
	if err != nil {
		return mapErr(err)
	}
	return zw.Close()
}
