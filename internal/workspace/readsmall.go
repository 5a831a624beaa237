package workspace

import (
	"io"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// Small is a file as ReadSmall found it: read whole (Data), or left open
// (File) when it was too large or changed while it was read.
type Small struct {
	Name    string // the base name
	Size    int64
	ModTime time.Time
	Data    []byte   // the whole file, when File is nil
	File    *os.File // open for the caller, who closes it; nil when Data holds the file
}

// ReadSmall is Open for a file the caller wants whole when it is small:
// a file of at most max bytes is read into buf (replaced by a larger one
// when too short; Data is a slice of it) and closed again; a larger one
// comes back open, as does one whose size changed while it was read (its
// offset then is not at the start). Names are confined as Open confines
// them. With openat2 the open, stat, read and close are its only system
// calls: no *os.File is made for a small file.
func (p *Project) ReadSmall(name string, max int64, buf []byte) (Small, error) {
	c, err := p.clean(name, false)
	if err != nil {
		return Small{}, err
	}
	if p.shared == nil {
		return Small{}, os.ErrClosed
	}
	fd, err := p.shared.openFdBeneath(c)
	if err == errNoOpenat2 {
		return p.readSmallFile(c, max, buf)
	}
	if err != nil {
		return Small{}, mapErr(err)
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return Small{}, &os.PathError{Op: "fstat", Path: c, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		unix.Close(fd)
		return Small{}, ErrIsDir
	}
	s := Small{Name: path.Base(c), Size: st.Size, ModTime: time.Unix(st.Mtim.Unix())}
	if s.Size > max {
		s.File = os.NewFile(uintptr(fd), c)
		return s, nil
	}
	if int64(cap(buf)) < s.Size {
		buf = make([]byte, s.Size)
	}
	data := buf[:s.Size]
	for n := 0; n < len(data); {
		m, err := unix.Read(fd, data[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 { // shorter than its stat said: the caller reads it again
			s.File = os.NewFile(uintptr(fd), c)
			return s, nil
		}
		n += m
	}
	unix.Close(fd)
	s.Data = data
	return s, nil
}

// readSmallFile is ReadSmall through Open (no openat2 here).
func (p *Project) readSmallFile(name string, max int64, buf []byte) (Small, error) {
	f, info, err := p.Open(name)
	if err != nil {
		return Small{}, err
	}
	s := Small{Name: info.Name(), Size: info.Size(), ModTime: info.ModTime()}
	if s.Size > max {
		s.File = f
		return s, nil
	}
	if int64(cap(buf)) < s.Size {
		buf = make([]byte, s.Size)
	}
	if _, err := io.ReadFull(f, buf[:s.Size]); err != nil {
		s.File = f
		return s, nil
	}
	f.Close()
	s.Data = buf[:s.Size]
	return s, nil
}

func fstat(fd int, st *unix.Stat_t) error {
	for {
		err := unix.Fstat(fd, st)
		if err != unix.EINTR {
			return err
		}
	}
}
