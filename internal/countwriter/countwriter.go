// Package countwriter wraps an http.ResponseWriter to keep the response's
// status and count the bytes of its body, for access logs, metrics and
// bandwidth metering.
package countwriter

import (
	"io"
	"net/http"
)

// Writer is an http.ResponseWriter that remembers the final status it sent
// and counts the body bytes written through it. The zero value is not
// usable: set ResponseWriter.
type Writer struct {
	http.ResponseWriter
	// Status is the response's final status: 0 before anything was
	// written, 101 for a switched protocol, never another 1xx (those are
	// informational and come before it).
	Status int
	// Bytes counts the body bytes written.
	Bytes int64
}

// WriteHeader passes the status on and keeps it unless it is informational.
func (w *Writer) WriteHeader(code int) {
	if w.Status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// ReadFrom keeps the server's sendfile path for file bodies.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming responses (server-sent events) streaming.
func (w *Writer) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Abandon records code as the status of a response that is never written
// (its client went away before it began), on w and on the Writers under
// it (reached through Unwrap), which have written nothing either. It
// writes nothing.
func (w *Writer) Abandon(code int) {
	var rw http.ResponseWriter = w
	for {
		if cw, ok := rw.(*Writer); ok && cw.Status == 0 {
			cw.Status = code
		}
		u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		rw = u.Unwrap()
	}
}
