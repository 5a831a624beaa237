package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// rawApp answers with what it was sent (JSON), streams a chunked body
// with a trailer, answers one response without a length (to the end of
// the connection), echoes a POST's body, and holds /hold until its client
// goes away, which answers /held.
const rawApp = `import http from "node:http";
let holdClosed = false;
const held = [];
http.createServer((req, res) => {
  if (req.url === "/hold") {
    res.on("close", () => {
      holdClosed = true;
      held.splice(0).forEach((w) => w.end("closed"));
    });
    return;
  }
  if (req.url === "/held") {
    if (holdClosed) res.end("closed");
    else held.push(res);
    return;
  }
  if (req.url === "/eof") {
    req.socket.end("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    return;
  }
  if (req.url === "/chunked") {
    res.writeHead(200, { "Content-Type": "text/plain", "Trailer": "X-Sum" });
    res.write("one,");
    setTimeout(() => { res.write("two"); res.addTrailers({ "X-Sum": "onetwo" }); res.end(); }, 5);
    return;
  }
  if (req.method === "POST") {
    let b = "";
    req.on("data", (d) => (b += d));
    req.on("end", () => res.end("posted " + b));
    return;
  }
  const h = req.headers;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ url: req.url, method: req.method, ae: h["accept-encoding"] || "", xff: h["x-forwarded-for"] || "",
    xfh: h["x-forwarded-host"] || "", xfp: h["x-forwarded-proto"] || "", hop: h["x-hop"] || "", keep: h["keep-alive"] || "", cookie: h.cookie || "" }));
}).listen(Number(process.env.PORT), "127.0.0.1");
`

// seen is what rawApp reports it was sent.
type seen struct {
	URL, Method, AE, XFF, XFH, XFP, Hop, Keep, Cookie string
}

// rawClient is one connection to the server's listener.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, srv *testutil.Server) *rawClient {
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// read reads one response to a request of method, its whole body.
func (rc *rawClient) read(method string) (*http.Response, string) {
	rc.t.Helper()
	res, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		rc.t.Fatalf("body of %d: %v", res.StatusCode, err)
	}
	return res, string(b)
}

// closed reports whether the server closed the connection.
func (rc *rawClient) closed() bool {
	_, err := rc.br.ReadByte()
	return err == io.EOF
}

// TestRawPath: requests to a published server app on one connection are
// answered by the raw path (no net/http server) when they are plain GETs
// and HEADs, and by net/http otherwise, mixed on the same connection, with
// the router's headers, framing (length, chunks with trailers, to the
// end), keep-alive rules, request ids, access log, metering and metrics;
// the app sees a client that left while it held the request go away.
func TestRawPath(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var logs testutil.LogBuffer
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Logs: &logs, Config: func(c *config.Config) {
			c.DeployHealth = 20 * time.Second
		}})
		testutil.RequireSandbox(t, testutil.NewSandbox(t))
		e := newEnvOn(t, srv)
		e.c = srv.User(t, "publisher")
		p, err := e.c.CreateProject(ctx, "Raw App", "node")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(rawApp)); err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		host := strings.TrimPrefix(pub.URL, "http://")
		raw := srv.Deploy.RawServed()
		wantRaw := func(n int64, what string) {
			t.Helper()
			if got := srv.Deploy.RawServed() - raw; got != n {
				t.Fatalf("%s: the raw path answered %d requests, want %d", what, got, n)
			}
			raw += n
		}

		// GET (raw), POST with a body (net/http), GET (net/http: the
		// connection is its own from the POST on).
		c := dialRaw(t, srv)
		c.send("GET /a?b=c HTTP/1.1\r\nHost: " + host + "\r\nAccept-Encoding: br, gzip\r\nConnection: X-Hop\r\nX-Hop: 1\r\n" +
			"X-Forwarded-For: 6.6.6.6\r\nCookie: a=b\r\n\r\n")
		res, body := c.read("GET")
		var s seen
		if err := json.Unmarshal([]byte(body), &s); err != nil || res.StatusCode != 200 {
			t.Fatalf("raw GET: %d %q %v", res.StatusCode, body, err)
		}
		if s.URL != "/a?b=c" || s.AE != "br, gzip" || s.XFF != "127.0.0.1" || s.XFH != host || s.XFP != "http" || s.Hop != "" || s.Cookie != "a=b" {
			t.Fatalf("the app was sent %+v", s)
		}
		if res.Header.Get("X-Request-Id") == "" || res.ContentLength != int64(len(body)) || res.Close {
			t.Fatalf("raw response headers: %v (length %d, close %v)", res.Header, res.ContentLength, res.Close)
		}
		wantRaw(1, "a GET")
		c.send("POST /p HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\n\r\nhello")
		if res, body = c.read("POST"); res.StatusCode != 200 || body != "posted hello" {
			t.Fatalf("POST: %d %q", res.StatusCode, body)
		}
		c.send("GET /after HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		if res, body = c.read("GET"); res.StatusCode != 200 || !strings.Contains(body, `"/after"`) || res.Header.Get("X-Request-Id") == "" {
			t.Fatalf("GET after the POST: %d %q", res.StatusCode, body)
		}
		wantRaw(0, "after a POST")

		// Pipelined: GET, HEAD, chunked with a trailer, GET, then one
		// answered to the end of the connection.
		c = dialRaw(t, srv)
		req := func(method, path string) string {
			return method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nTE: trailers\r\n\r\n"
		}
		c.send(req("GET", "/1") + req("HEAD", "/2") + req("GET", "/chunked") + req("GET", "/3") + req("GET", "/eof"))
		if res, body = c.read("GET"); !strings.Contains(body, `"/1"`) {
			t.Fatalf("pipelined 1: %q", body)
		}
		if res, body = c.read("HEAD"); res.StatusCode != 200 || body != "" {
			t.Fatalf("HEAD: %d %q", res.StatusCode, body)
		}
		if res, body = c.read("GET"); body != "one,two" || res.Trailer.Get("X-Sum") != "onetwo" || len(res.TransferEncoding) != 1 {
			t.Fatalf("chunked: %q, trailer %v, %v", body, res.Trailer, res.TransferEncoding)
		}
		if res, body = c.read("GET"); !strings.Contains(body, `"/3"`) || !strings.Contains(body, `"GET"`) {
			t.Fatalf("pipelined 3: %q", body)
		}
		if res, body = c.read("GET"); body != "until the end" || !res.Close || !c.closed() {
			t.Fatalf("to the end: %q (close %v)", body, res.Close)
		}
		wantRaw(5, "pipelined")

		// Connection: close, and HTTP/1.0 (net/http's).
		c = dialRaw(t, srv)
		c.send("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
		if res, _ = c.read("GET"); res.StatusCode != 200 || !res.Close || !c.closed() {
			t.Fatalf("Connection: close: %d, close %v", res.StatusCode, res.Close)
		}
		c = dialRaw(t, srv)
		c.send("GET /old HTTP/1.0\r\nHost: " + host + "\r\n\r\n")
		if res, body = c.read("GET"); res.StatusCode != 200 || !strings.Contains(body, `"/old"`) || !c.closed() {
			t.Fatalf("HTTP/1.0: %d %q", res.StatusCode, body)
		}
		wantRaw(1, "close and HTTP/1.0")

		// An IDE request on a connection that then asks for the app.
		c = dialRaw(t, srv)
		c.send("GET /healthz HTTP/1.1\r\nHost: " + strings.TrimPrefix(srv.URL, "http://") + "\r\n\r\n" +
			"GET /x HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		if res, _ = c.read("GET"); res.StatusCode != 200 {
			t.Fatalf("healthz: %d", res.StatusCode)
		}
		if res, body = c.read("GET"); !strings.Contains(body, `"/x"`) {
			t.Fatalf("app after the IDE: %q", body)
		}
		wantRaw(0, "an IDE connection")

		// Metering, metrics and the access log count the raw requests.
		var n deploy.Counts
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/metrics", nil, "", &n); err != nil {
			t.Fatal(err)
		}
		if n.Requests < 11 || n.Classes["2xx"] < 11 {
			t.Fatalf("deployment metrics: %+v", n)
		}
		if l := logs.String(); !strings.Contains(l, "path=/chunked status=200") || !strings.Contains(l, "path=/a status=200") {
			t.Fatalf("the access log lacks the raw requests:\n%s", l)
		}

		// A client that leaves while the app holds its request: the app
		// sees its connection close (then answers /held), and the
		// deployment serves on.
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/metrics", nil, "", &n); err != nil {
			t.Fatal(err)
		}
		before4xx := n.Classes["4xx"]
		hold := dialRaw(t, srv)
		hold.send("GET /hold HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		c = dialRaw(t, srv)
		c.send("GET /held HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		hold.c.Close()
		if res, body = c.read("GET"); res.StatusCode != 200 || body != "closed" {
			t.Fatalf("/held: %d %q", res.StatusCode, body)
		}
		c.send("GET /after-hold HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
		if res, body = c.read("GET"); res.StatusCode != 200 || !strings.Contains(body, `"/after-hold"`) {
			t.Fatalf("after the client left: %d %q", res.StatusCode, body)
		}
		// the same on net/http's path (a POST, with a body): both are
		// logged and metered as a client that closed its request (499,
		// a 4xx), not as the app's failure
		hold = dialRaw(t, srv)
		hold.send("POST /hold HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 2\r\n\r\nhi")
		hold.c.Close() // after its request: read, then found gone, whenever it is read
		gone := func(l string) bool {
			return strings.Contains(l, `method=GET route="" path=/hold status=499 bytes=0`) &&
				strings.Contains(l, `method=POST route="" path=/hold status=499 bytes=0`)
		}
		if !logs.Wait(10*time.Second, gone) {
			t.Fatalf("the access log lacks the departed clients' 499s:\n%s", logs.String())
		}
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/metrics", nil, "", &n); err != nil {
			t.Fatal(err)
		}
		if n.Classes["5xx"] != 0 || n.Classes["4xx"] != before4xx+2 {
			t.Fatalf("deployment metrics after two clients left: %+v", n)
		}
	})
}
