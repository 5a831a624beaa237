package workspace

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ReadSmall answers as Open (then a read of the whole file) does, through
// openat2 and through its fallback: the same content or error for links
// inside, out of and through the project, for bad names and folders; the
// same name, size and time; the file read whole up to the limit and left
// open past it.
func TestReadSmallAgreesWithOpen(t *testing.T) {
	files, p := newProject(t)
	names := append(linkFixtures(files), "", "../x", "/etc/passwd", "big.txt")
	big := strings.Repeat("b", 5000)
	os.WriteFile(filepath.Join(files.Dir("p1"), "big.txt"), []byte(big), 0o644)
	class := func(err error) string {
		switch {
		case errors.Is(err, ErrBadPath):
			return "bad path"
		case errors.Is(err, ErrNotExist):
			return "not exist"
		case errors.Is(err, ErrIsDir):
			return "folder"
		}
		return "other error: " + err.Error()
	}
	open := func(name string) (string, os.FileInfo) {
		f, info, err := p.Open(name)
		if err != nil {
			return class(err), nil
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		return "content " + string(b), info
	}
	ways := map[string]func(string, int64, []byte) (Small, error){"openat2": p.ReadSmall, "fallback": p.readSmallFile}
	// ReadSmall falls back by itself when openat2 is refused: make sure
	// its own path is the one under test.
	if fd, err := p.shared.openFdBeneath("."); err == errNoOpenat2 {
		if os.Getenv("CI") != "" {
			t.Fatal("openat2 unavailable: the kernel or a seccomp filter refuses it")
		}
		t.Log("openat2 unavailable here (an old kernel or a seccomp filter): only the fallback is compared")
		delete(ways, "openat2")
	} else if err == nil {
		unix.Close(fd)
	}
	for way, read := range ways {
		for _, name := range names {
			for _, limit := range []int64{0, 2, 4096, 8192} {
				want, info := open(name)
				s, err := read(name, limit, make([]byte, 0, 16))
				got := ""
				switch {
				case err != nil:
					got = class(err)
				case s.File != nil:
					if s.Size <= limit {
						t.Errorf("%s %q limit %d: a file of %d bytes left open", way, name, limit, s.Size)
					}
					s.File.Seek(0, io.SeekStart)
					b, _ := io.ReadAll(s.File)
					s.File.Close()
					got = "content " + string(b)
				default:
					if s.Size > limit {
						t.Errorf("%s %q limit %d: a file of %d bytes read whole", way, name, limit, s.Size)
					}
					got = "content " + string(s.Data)
				}
				if got != want {
					t.Errorf("%s %q limit %d: got %.40s, Open gives %.40s", way, name, limit, got, want)
				}
				if info != nil && (s.Name != info.Name() || s.Size != info.Size() || !s.ModTime.Equal(info.ModTime())) {
					t.Errorf("%s %q: name, size, time %q %d %v; Open's %q %d %v", way, name,
						s.Name, s.Size, s.ModTime, info.Name(), info.Size(), info.ModTime())
				}
			}
		}
	}
}
