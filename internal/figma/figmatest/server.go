package figmatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"ecode/internal/figma"
)

// Server is a fake Figma REST API on loopback.
type Server struct {
	*httptest.Server
	Token string

	mu         sync.Mutex
	files      map[string][]byte
	throttle   int    // answer this many requests with 429 first
	retryAfter string // their Retry-After
	tokens     []string
	paths      []string
}

// NewServer serves files (key → document) to requests bearing token; it
// closes at the end of the test.
func NewServer(t testing.TB, token string, files map[string]*figma.File) *Server {
	s := &Server{Token: token, files: map[string][]byte{}}
	for k, f := range files {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		s.files[k] = b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/files/{key}", s.file)
	mux.HandleFunc("GET /v1/images/{key}", s.images)
	mux.HandleFunc("GET /renders/{key}/{name}", s.render)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Throttle makes the next n API requests answer 429 with retryAfter.
func (s *Server) Throttle(n int, retryAfter string) {
	s.mu.Lock()
	s.throttle, s.retryAfter = n, retryAfter
	s.mu.Unlock()
}

// Paths are the API paths requested, in order.
func (s *Server) Paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// Tokens are the X-Figma-Token headers received, in order.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%d,"err":%q}`, code, msg)
}

// gate records the request and answers throttling and token checks; it
// reports whether the handler goes on.
func (s *Server) gate(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.RequestURI())
	s.tokens = append(s.tokens, r.Header.Get("X-Figma-Token"))
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	ra := s.retryAfter
	s.mu.Unlock()
	if throttled {
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		apiError(w, http.StatusTooManyRequests, "Rate limit exceeded")
		return false
	}
	if r.Header.Get("X-Figma-Token") != s.Token {
		apiError(w, http.StatusForbidden, "Invalid token")
		return false
	}
	return true
}

func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	if !s.gate(w, r) {
		return
	}
	s.mu.Lock()
	b, ok := s.files[r.PathValue("key")]
	s.mu.Unlock()
	if !ok {
		apiError(w, http.StatusNotFound, "Not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) images(w http.ResponseWriter, r *http.Request) {
	if !s.gate(w, r) {
		return
	}
	key, format := r.PathValue("key"), r.URL.Query().Get("format")
	out := map[string]*string{}
	for _, id := range strings.Split(r.URL.Query().Get("ids"), ",") {
		u := fmt.Sprintf("%s/renders/%s/%s.%s", s.URL, key, strings.NewReplacer(":", "-", ";", "_").Replace(id), format)
		out[id] = &u
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"err": nil, "images": out})
}

// render answers a render URL: a 4×4 PNG or a small SVG.
func (s *Server) render(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.HasSuffix(name, ".svg") {
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" fill="#000"/></svg>`)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(PNG())
}

// PNG is a 4×4 orange PNG.
func PNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range 16 {
		img.Set(i%4, i/4, color.RGBA{R: 249, G: 115, B: 22, A: 255})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
