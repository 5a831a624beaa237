package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A release's runtime log (the app's stdout and stderr) is app.log in its
// folder; past LogFileBytes it moves to app.log.1 (replacing the one there)
// and a new app.log starts, so a release keeps at most 2×LogFileBytes.
const (
	LogFileBytes   = 1 << 20
	MaxLogLines    = 5000 // most lines one AppLog call returns
	DefaultLogTail = 500
)

// rotatingLog appends to path, rotating it past max bytes.
type rotatingLog struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

func openRotatingLog(path string, max int64) (*rotatingLog, error) {
	l := &rotatingLog{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *rotatingLog) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, fi.Size()
	return nil
}

func (l *rotatingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		l.f.Close()
		l.f = nil
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return 0, err
		}
		if err := l.open(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > l.max { // one huge write keeps only its end
		p = p[int64(len(p))-l.max:]
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return len(p), err
}

func (l *rotatingLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// LogQuery selects lines of a runtime log.
type LogQuery struct {
	ReleaseID string // "" is the active release
	Search    string // case-insensitive substring; "" matches every line
	Tail      int    // the last Tail matching lines (default DefaultLogTail, at most MaxLogLines)
}

// AppLog is the end of a release's runtime log.
type AppLog struct {
	ReleaseID string   `json:"release_id"`
	Lines     []string `json:"lines"`
	Truncated bool     `json:"truncated"` // more lines matched than were returned
}

// ErrNoRelease means the deployment has no release to read a log of.
var ErrNoRelease = errors.New("deploy: no such release")

// AppLog returns the last matching lines of a release's runtime log.
func (s *Service) AppLog(projectID string, q LogQuery) (AppLog, error) {
	if q.Tail <= 0 {
		q.Tail = DefaultLogTail
	}
	q.Tail = min(q.Tail, MaxLogLines)
	out := AppLog{ReleaseID: q.ReleaseID, Lines: []string{}}
	if out.ReleaseID == "" || strings.ContainsAny(out.ReleaseID, `/\.`) {
		return out, ErrNoRelease
	}
	path := filepath.Join(s.releaseDir(projectID, q.ReleaseID), "app.log")
	needle := strings.ToLower(q.Search)
	for _, p := range []string{path + ".1", path} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return out, err
		}
		err = filterLines(f, needle, q.Tail, &out)
		f.Close()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// filterLines appends r's lines containing needle to out, keeping the last tail.
func filterLines(r io.Reader, needle string, tail int, out *AppLog) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), LogFileBytes)
	for sc.Scan() {
		line := sc.Bytes()
		if needle != "" && !bytes.Contains(bytes.ToLower(line), []byte(needle)) {
			continue
		}
		out.Lines = append(out.Lines, string(line))
		if len(out.Lines) > 2*tail { // amortised trim
			out.Lines = append(out.Lines[:0], out.Lines[len(out.Lines)-tail:]...)
			out.Truncated = true
		}
	}
	if len(out.Lines) > tail {
		out.Lines = append(out.Lines[:0], out.Lines[len(out.Lines)-tail:]...)
		out.Truncated = true
	}
	return sc.Err()
}
