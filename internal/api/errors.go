// Package api is E-Code's HTTP interface: the route table, middleware,
// authentication and authorization checks, and the handlers, which stay thin
// and call the store and domain packages.
package api

import (
	"cmp"
	"runtime/debug"

	"ecode/internal/errtrack"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"
)

// Error is the one error type handlers return. Code and Message go to the
// client; Err (the cause) goes to the log and never to the client.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func errInvalid(fields map[string]string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "some fields are invalid", Fields: fields}
}

func errBadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: msg}
}

func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: what + " not found"}
}

func errForbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}

func errConflict(msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Message: msg}
}

func errUnauthenticated(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: msg}
}

func errTooLarge(msg string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: msg}
}

// errUnavailable is a 503: the service can answer again shortly (say so
// with Retry-After).
func errUnavailable(code, msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: code, Message: msg}
}

func errInternal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error", Err: err}
}

// storageRefusal is implemented by the errors domain packages return when
// they refuse work for want of disk space (volume.SpaceError, history's
// checkpoint quota); their message is for the client.
type storageRefusal interface {
	error
	InsufficientStorage() bool
}

// toError is the *Error err becomes: itself, a 413 for a body too large, a
// 507 for a refusal for want of space or a full disk, else a 500.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if be, ok := billingError(err); ok {
		return be
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge(fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	}
	var sr storageRefusal
	if errors.As(err, &sr) && sr.InsufficientStorage() {
		return &Error{Status: http.StatusInsufficientStorage, Code: "disk_full", Message: sr.Error(), Err: err}
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &Error{Status: http.StatusInsufficientStorage, Code: "disk_full", Message: "the disk is full: delete files to make room", Err: err}
	}
	return errInternal(err)
}

// handlerFunc is an HTTP handler that returns its error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// writeError sends err as the JSON error body and logs its cause once.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := s.errorBody(r, err)
	writeJSON(w, status, map[string]any{"error": body})
}

// errorBody turns err into its status and the body of its error object
// (the part clients see), logging its cause once. Streams send the body as
// an "error" event.
func (s *Server) errorBody(r *http.Request, err error) (int, map[string]any) {
	e := toError(err)
	level := slog.LevelDebug
	if e.Status >= 500 {
		level = slog.LevelError
	}
	ri := info(r.Context())
	attrs := []any{"method", r.Method, "route", ri.route, "path", r.URL.Path, "status", e.Status, "code", e.Code,
		"request_id", requestID(r.Context()), "user_id", ri.userID, "err", e.Error()}
	if id := traceID(r.Context()); id != "" {
		attrs = append(attrs, "trace_id", id)
	}
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable && e.Status != http.StatusInsufficientStorage {
		group := s.trackError(r, e)
		attrs = append(attrs, "error_group", group)
		markSpanError(r.Context(), e.Code, group)
	}
	s.log.Log(r.Context(), level, "request failed", attrs...)
	body := map[string]any{"code": e.Code, "message": e.Message}
	if len(e.Fields) > 0 {
		body["fields"] = e.Fields
	}
	return e.Status, body
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// trackError records a 5xx answer (a panic, with its stack) in error
// tracking and returns its group id.
func (s *Server) trackError(r *http.Request, e *Error) string {
	ri := info(r.Context())
	rep := errtrack.Report{Source: errtrack.SourceServer, Kind: errtrack.KindServer, Message: e.Error(),
		Route: cmp.Or(ri.route, r.Pattern), RequestID: requestID(r.Context()), UserID: ri.userID, URL: r.URL.Path,
		UserAgent: r.UserAgent()}
	var p *panicError
	if errors.As(e, &p) {
		rep.Kind, rep.Message, rep.Stack = errtrack.KindPanic, p.Error(), string(p.stack)
	} else {
		rep.Stack = string(debug.Stack())
	}
	return s.errors.Capture(r.Context(), rep)
}
