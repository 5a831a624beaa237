package api

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// encodings are the precompressed variants the UI build writes beside each
// asset (name.br, name.gz), in order of preference.
var encodings = []struct{ name, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// servePrecompressed serves name's precompressed variant when the client
// accepts one and the build made one, and reports whether it did.
func (s *Server) servePrecompressed(w http.ResponseWriter, r *http.Request, name string) bool {
	w.Header().Add("Vary", "Accept-Encoding")
	accepted := acceptedEncodings(r.Header.Get("Accept-Encoding"))
	for _, enc := range encodings {
		if !accepted[enc.name] {
			continue
		}
		data, err := fs.ReadFile(s.ui, name+enc.ext)
		if err != nil {
			continue
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Encoding", enc.name)
		h.Set("Content-Length", strconv.Itoa(len(data)))
		// The whole body, always: ranges of compressed bytes would help nobody.
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(data)
		}
		return true
	}
	return false
}

// acceptedEncodings parses an Accept-Encoding header into the set of
// content codings the client accepts (a q of 0 refuses one; "*" accepts
// every coding not named otherwise).
func acceptedEncodings(header string) map[string]bool {
	named := map[string]bool{}
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		ok := true
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				ok = err == nil && q > 0
			}
		}
		if coding == "*" {
			star = ok
			continue
		}
		named[coding] = ok
	}
	out := map[string]bool{}
	for _, enc := range encodings {
		v, seen := named[enc.name]
		out[enc.name] = v || (!seen && star)
	}
	return out
}
