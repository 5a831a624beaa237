package deploy

import (
	"bytes"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of a static site's cache: files up to maxCachedBody are kept in
// memory, up to maxCachedBytes in all; the others are opened per request
// (and sent with sendfile). At most maxCachedFiles files are described.
const (
	maxCachedBody  = 256 << 10
	maxCachedBytes = 64 << 20
	maxCachedFiles = 10_000
)

// staticSite serves a static release's folder, confined to it, hiding dot
// files (.ecode.toml, the development database under .ecode/). A release's
// folder does not change once built, so what a file's answer needs (type,
// validators, and a small file's bytes) is worked out once, on its first
// request; folders, listings and misses go to net/http's file server.
type staticSite struct {
	root  *os.Root
	files http.Handler
	cache sync.Map // name in root → *staticFile
	count atomic.Int64
	bytes atomic.Int64
}

// staticFile is a cached regular file and its headers, built once and
// shared by its answers (never changed in place).
type staticFile struct {
	name    string
	modTime time.Time
	body    []byte // nil: opened per request
	header  http.Header
}

// staticHandler serves dir as a static site.
func staticHandler(dir string) (http.Handler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &staticSite{root: root, files: http.FileServer(rootFS{root})}, nil
}

func (s *staticSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, seg := range strings.Split(r.URL.Path, "/") {
		if strings.HasPrefix(seg, ".") {
			http.NotFound(w, r)
			return
		}
	}
	f := s.lookup(r.URL.Path)
	if f == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		s.files.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	for k, v := range f.header {
		h[k] = v
	}
	if conditional(r) { // ranges and validators: net/http's rules
		body, closeBody, err := s.open(f)
		if err != nil {
			s.files.ServeHTTP(w, r)
			return
		}
		defer closeBody()
		http.ServeContent(w, r, f.name, f.modTime, body)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if f.body != nil {
		w.Write(f.body)
		return
	}
	if file, err := s.root.Open(f.name); err == nil {
		io.Copy(w, file) // an *os.File: sendfile when the writer allows it
		file.Close()
	}
}

// open returns the file's content to seek in.
func (s *staticSite) open(f *staticFile) (io.ReadSeeker, func(), error) {
	if f.body != nil {
		return bytes.NewReader(f.body), func() {}, nil
	}
	file, err := s.root.Open(f.name)
	if err != nil {
		return nil, nil, err
	}
	return file, func() { file.Close() }, nil
}

// conditional reports whether r asks for a range or carries validators.
func conditional(r *http.Request) bool {
	for _, k := range []string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} {
		if _, ok := r.Header[k]; ok {
			return true
		}
	}
	return false
}

// lookup returns the cached file a URL path names (a folder's index.html
// for a path ending in /), caching it on first use; nil when it is not a
// regular file or the cache is full.
func (s *staticSite) lookup(urlPath string) *staticFile {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if strings.HasSuffix(urlPath, "/") {
		name = path.Join(name, "index.html")
	}
	if name == "" {
		return nil
	}
	if v, ok := s.cache.Load(name); ok {
		return v.(*staticFile)
	}
	if s.count.Load() >= maxCachedFiles {
		return nil
	}
	f, err := s.load(name)
	if err != nil {
		return nil
	}
	if v, loaded := s.cache.LoadOrStore(name, f); loaded {
		return v.(*staticFile)
	}
	s.count.Add(1)
	return f
}

// load reads what a file's answers need.
func (s *staticSite) load(name string) (*staticFile, error) {
	file, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return nil, fs.ErrNotExist
	}
	f := &staticFile{name: name, modTime: info.ModTime()}
	size := info.Size()
	head := make([]byte, min(size, 512))
	if _, err := io.ReadFull(file, head); err != nil {
		return nil, err
	}
	if size <= maxCachedBody && s.bytes.Add(size) <= maxCachedBytes {
		f.body = make([]byte, size)
		copy(f.body, head)
		if _, err := io.ReadFull(file, f.body[len(head):]); err != nil {
			return nil, err
		}
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(head)
	}
	f.header = http.Header{
		"Content-Type":   {ctype},
		"Content-Length": {strconv.FormatInt(size, 10)},
		"Last-Modified":  {info.ModTime().UTC().Format(http.TimeFormat)},
		"Etag":           {`"` + strconv.FormatInt(size, 16) + "-" + strconv.FormatInt(info.ModTime().UnixNano(), 16) + `"`},
		"Accept-Ranges":  {"bytes"},
	}
	return f, nil
}

// rootFS is an http.FileSystem over an os.Root whose files are *os.File,
// so net/http's file server can send them with sendfile.
type rootFS struct{ root *os.Root }

func (r rootFS) Open(name string) (http.File, error) {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "."
	}
	return r.root.Open(name)
}
