package deploy

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// rawOutcome is what the raw path did with a request.
type rawOutcome int

const (
	rawKeep    rawOutcome = iota // answered; the connection stays for the next request
	rawClose                     // answered (or aborted); the connection is closed
	rawHandOff                   // not touched: net/http's server reads it
)

// rawRequests stand for the request in retryTarget (method, context, no
// body).
var rawRequests = map[string]*http.Request{"GET": {Method: "GET"}, "HEAD": {Method: "HEAD"}}

// serveRaw serves h (parsed from head, still unread in rc.br) when it is
// for a running server instance of a deployment this node holds, as
// serveApp would.
func (s *Service) serveRaw(rc *rawConn, h *rawHead, head []byte, front RawFront) rawOutcome {
	slug, ok := s.slugOf(string(h.host))
	if !ok {
		return rawHandOff
	}
	s.mu.Lock()
	d, ok := s.deps[s.bySlug[slug]]
	s.mu.Unlock()
	if !ok || s.d.Cluster != nil && !s.d.Cluster.HoldsDeployment(d.projectID) {
		return rawHandOff
	}
	inst := d.acquire()
	if inst == nil {
		return rawHandOff
	}
	defer inst.done()
	if inst.static != nil || inst.fast == nil {
		return rawHandOff
	}
	start := time.Now()
	id := ""
	if front.NewID != nil {
		id = front.NewID()
	}
	p, uc, err := s.rawRoundTrip(rc, inst, h)
	if err != nil && !rc.left() {
		if next := s.retryTarget(rawRequests[h.method], inst, err); next != nil {
			defer next.done()
			p, uc, err = s.rawRoundTrip(rc, next, h)
		}
	}
	rc.br.Discard(len(head))
	s.raw.Add(1)
	w := rawWriter{rc: rc, id: id, method: h.method, close: h.close}
	if err == nil {
		w.forward(p, uc, &s.buffers) // ends the watch
	} else {
		w.failed()
	}
	s.meter.served(d.projectID, w.code, w.bytes)
	dur := time.Since(start)
	if s.d.Requests != nil {
		s.d.Requests.ObserveApp(d.projectID, w.code, dur, w.bytes)
	}
	if front.Served != nil {
		front.Served(id, h.method, rawPath(h.target), w.code, w.bytes, dur, w.streamed)
	}
	if w.close {
		return rawClose
	}
	return rawKeep
}

// rawPath is the target's path, unescaped (the access log's path).
func rawPath(target []byte) string {
	path, _, _ := strings.Cut(string(target), "?")
	if strings.IndexByte(path, '%') >= 0 {
		if p, err := url.PathUnescape(path); err == nil {
			return p
		}
	}
	return path
}

// rawRoundTrip sends h to the app on a pooled connection of inst (a new
// one when a reused one fails before any answer) and reads the head of
// its response into uc.res; on an error nothing is left open.
func (s *Service) rawRoundTrip(rc *rawConn, inst *instance, h *rawHead) (*fastProxy, *upConn, error) {
	p := inst.fast
	uc, reused, err := p.get(s.ctx)
	if err != nil {
		return nil, nil, err
	}
	err = p.rawSend(uc, rc, h)
	if err != nil && reused && errors.Is(err, errBeforeResponse) && !rc.left() { // the app closed the idle connection
		uc.c.Close()
		if uc, err = p.dialConn(s.ctx); err != nil {
			return nil, nil, err
		}
		err = p.rawSend(uc, rc, h)
	}
	if err != nil {
		uc.c.Close()
		return nil, nil, err
	}
	return p, uc, nil
}

// rawSend writes h on uc as writeRequest writes a request and reads the
// head of the app's first response, watching rc once the app takes
// longer than p.watchAfter (rawwatch.go).
func (p *fastProxy) rawSend(uc *upConn, rc *rawConn, h *rawHead) error {
	bw := uc.bw
	bw.WriteString(h.method)
	bw.WriteByte(' ')
	bw.Write(h.target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.Write(h.host)
	bw.WriteString("\r\n")
	for _, f := range h.fields[:h.n] {
		if h.forwarded(f) {
			bw.Write(f.name)
			bw.WriteString(": ")
			bw.Write(f.value)
			bw.WriteString("\r\n")
		}
	}
	if h.trailers {
		bw.WriteString("Te: trailers\r\n")
	}
	if ip := rc.clientIP(); ip != "" {
		writeHeader(bw, "X-Forwarded-For", ip)
	}
	bw.WriteString("X-Forwarded-Host: ")
	bw.Write(h.host)
	bw.WriteString("\r\nX-Forwarded-Proto: http\r\n\r\n")
	if err := bw.Flush(); err != nil {
		return &beforeResponse{err}
	}
	now := time.Now()
	uc.client, uc.deadline = rc, now.Add(p.headerTimeout)
	uc.c.SetReadDeadline(now.Add(min(p.watchAfter, p.headerTimeout)))
	uc.limit = maxResponseHeader
	if _, err := uc.br.Peek(1); err != nil {
		return &beforeResponse{err}
	}
	return uc.readResponse(h.method)
}

// readResponse reads the head of a response to a request of method into
// uc.res.
func (uc *upConn) readResponse(method string) error {
	head, err := readHeadLines(uc.br, uc.head, maxResponseHeader)
	if err != nil {
		return err
	}
	uc.head = head
	if !parseRawResponse(head, method, &uc.res) {
		return errRawResponse
	}
	return nil
}

func (rc *rawConn) clientIP() string {
	if rc.ip == "" {
		rc.ip, _, _ = net.SplitHostPort(rc.c.RemoteAddr().String())
	}
	return rc.ip
}

// rawWriter writes a response to a raw connection and notes what the
// meter and the log need.
type rawWriter struct {
	rc       *rawConn
	id       string
	method   string
	close    bool // the connection ends after this response
	code     int
	bytes    int64
	streamed bool
}

// head starts the response's head in rc.out: the status line, the
// request id, the fields.
func (w *rawWriter) head(code int, fields []rawField) {
	b := append(w.rc.out[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	if w.id != "" {
		b = append(b, "X-Request-Id: "...)
		b = append(b, w.id...)
		b = append(b, "\r\n"...)
	}
	for _, f := range fields {
		b = appendField(b, f)
	}
	w.rc.out = b
}

// appendField appends "Name: value\r\n".
func appendField(b []byte, f rawField) []byte {
	b = appendName(b, f.name)
	b = append(b, ": "...)
	b = append(b, f.value...)
	return append(b, "\r\n"...)
}

// appendName appends a field's name in net/http's canonical form, as the
// app's header passed through http.Header was (the parser took tokens
// only).
func appendName(b, name []byte) []byte {
	upper := true
	for _, c := range name {
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		upper = c == '-'
	}
	return b
}

// date appends a Date field.
func (w *rawWriter) date() {
	w.rc.out = append(w.rc.out, "Date: "...)
	w.rc.out = time.Now().UTC().AppendFormat(w.rc.out, http.TimeFormat)
	w.rc.out = append(w.rc.out, "\r\n"...)
}

// page answers with appPage's page.
func (w *rawWriter) page(code int, title, text string) {
	body := appPageHTML(title, text)
	w.head(code, nil)
	w.rc.out = append(w.rc.out, "Cache-Control: no-store\r\nContent-Length: "...)
	w.rc.out = strconv.AppendInt(w.rc.out, int64(len(body)), 10)
	w.rc.out = append(w.rc.out, "\r\nContent-Type: text/html; charset=utf-8\r\n"...)
	w.date()
	w.code = code
	w.finish()
	if w.method != http.MethodHead {
		w.rc.out = append(w.rc.out, body...)
		w.bytes = int64(len(body))
	}
	if _, err := w.rc.c.Write(w.rc.out); err != nil {
		w.close = true
	}
}

// finish ends the head in rc.out.
func (w *rawWriter) finish() {
	if w.close {
		w.rc.out = append(w.rc.out, "Connection: close\r\n"...)
	}
	w.rc.out = append(w.rc.out, "\r\n"...)
}

// failed answers a request whose response never began: 502, or nothing
// to a client the watch found gone (StatusClientClosed recorded, as
// net/http's path records it; its connection closed). It ends the watch.
func (w *rawWriter) failed() {
	if w.rc.unwatch() {
		w.code, w.bytes, w.close = StatusClientClosed, 0, true
		return
	}
	w.page(http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
}

// badGateway answers that the app did not answer and closes the
// connection.
func (w *rawWriter) badGateway() {
	w.close = true
	w.page(http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
}

// forward copies the app's response (uc.res, read on uc of p) to the
// client, 1xx ones first; then keeps uc in p's pool when the app kept it
// alive, its body was read to the end and the client did not go away
// (the watch is over). A failure once the response began closes the
// client's connection.
func (w *rawWriter) forward(p *fastProxy, uc *upConn, bufs *buffers) {
	ok := false
	defer func() {
		uc.client = nil
		if w.rc.unwatch() {
			w.close, ok = true, false
		}
		if ok {
			p.put(uc)
		} else {
			uc.c.Close()
		}
	}()
	res := &uc.res
	for n := 0; res.code < 200 && res.code != http.StatusSwitchingProtocols; n++ {
		if n == max1xx {
			w.badGateway()
			return
		}
		w.head(res.code, res.fields)
		w.rc.out = append(w.rc.out, "\r\n"...)
		if _, err := w.rc.c.Write(w.rc.out); err != nil {
			w.code, w.close = res.code, true
			return
		}
		uc.limit = maxResponseHeader
		if err := uc.readResponse(w.method); err != nil {
			w.close = true
			w.failed()
			return
		}
	}
	if res.code == http.StatusSwitchingProtocols { // not asked for
		w.page(http.StatusBadGateway, "The app did not answer", "It may be restarting; try again in a moment.")
		return
	}
	// no deadline on the body; still the first one until the watch begins
	uc.deadline = time.Time{}
	if uc.client == nil {
		uc.c.SetReadDeadline(time.Time{})
	}
	uc.limit = 1<<63 - 1
	w.code = res.code
	res.body.start(uc.br, res)
	ok = w.copyResponse(res, bufs, uc.br.Buffered() > 0) && !res.close && uc.br.Buffered() == 0
}

// copyResponse writes res's head and body with their framing: its length,
// chunks (and trailers) or, with neither, to the end of the connection.
func (w *rawWriter) copyResponse(res *rawResponse, bufs *buffers, buffered bool) bool {
	w.close = w.close || res.toEOF
	w.streamed = len(res.ctype) >= 17 && equalFold(res.ctype[:17], "text/event-stream") && isEventStream(string(res.ctype))
	buf := bufs.Get()
	defer bufs.Put(buf)
	// the first bytes of the body go with the head when they are there,
	// or must be sniffed for a Content-Type as net/http's server does
	var first []byte
	var rerr error
	sniff := !res.typed && !res.encoded && res.code != http.StatusNotModified
	if !res.noBody && (sniff || buffered) {
		var n int
		n, rerr = res.body.Read(buf)
		first = buf[:n]
	}
	w.head(res.code, res.fields)
	if sniff && len(first) > 0 {
		w.rc.out = append(w.rc.out, "Content-Type: "...)
		w.rc.out = append(w.rc.out, http.DetectContentType(first)...)
		w.rc.out = append(w.rc.out, "\r\n"...)
	}
	if !res.dated {
		w.date()
	}
	if res.chunked {
		w.rc.out = append(w.rc.out, "Transfer-Encoding: chunked\r\n"...)
		w.trailerField(res)
	}
	w.finish()
	for {
		if len(first) > 0 {
			w.bytes += int64(len(first))
			if res.chunked {
				w.rc.out = strconv.AppendInt(w.rc.out, int64(len(first)), 16)
				w.rc.out = append(w.rc.out, "\r\n"...)
				w.rc.out = append(w.rc.out, first...)
				w.rc.out = append(w.rc.out, "\r\n"...)
			} else if len(w.rc.out) > 0 && len(w.rc.out)+len(first) <= 64<<10 {
				w.rc.out = append(w.rc.out, first...)
			} else {
				if len(w.rc.out) > 0 && !w.flush() {
					return false
				}
				if _, err := w.rc.c.Write(first); err != nil {
					w.close = true
					return false
				}
			}
		}
		if rerr == io.EOF || res.noBody {
			break
		}
		if rerr != nil {
			w.flush()
			w.close = true
			return false
		}
		if len(w.rc.out) > 0 && !w.flush() {
			return false
		}
		var n int
		n, rerr = res.body.Read(buf)
		first = buf[:n]
	}
	if res.chunked && !res.noBody {
		w.rc.out = append(w.rc.out, "0\r\n"...)
		for _, f := range res.trailers {
			w.rc.out = appendField(w.rc.out, f)
		}
		w.rc.out = append(w.rc.out, "\r\n"...)
	}
	return w.flush()
}

// trailerField announces the trailers the app announced.
func (w *rawWriter) trailerField(res *rawResponse) {
	n := 0
	for t := range res.announced() {
		if n == 0 {
			w.rc.out = append(w.rc.out, "Trailer: "...)
		} else {
			w.rc.out = append(w.rc.out, ", "...)
		}
		w.rc.out = appendName(w.rc.out, t)
		n++
	}
	if n > 0 {
		w.rc.out = append(w.rc.out, "\r\n"...)
	}
}

// flush writes rc.out.
func (w *rawWriter) flush() bool {
	_, err := w.rc.c.Write(w.rc.out)
	w.rc.out = w.rc.out[:0]
	if err != nil {
		w.close = true
		return false
	}
	return true
}
