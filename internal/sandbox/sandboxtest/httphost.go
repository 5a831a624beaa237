package sandboxtest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// ServeHTTPOn serves body on ip (a loopback address such as 127.0.0.2, a
// host to reach through a tunnel) and returns its host:port; it stops in
// t.Cleanup.
func ServeHTTPOn(t testing.TB, ip, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String()
}
