package deploy

import (
	"bufio"
	"net"
	"net/http"
	"testing"
)

// serveTestApp serves an app of the test's on a new listener, closed when
// the test ends: each accepted connection is given to accepted (when not
// nil), then its requests are read in turn and each handed to answer,
// which writes to c what it likes and says whether to read the next one.
func serveTestApp(t *testing.T, accepted func(net.Conn), answer func(c net.Conn, r *http.Request) (more bool)) net.Listener {
	t.Helper()
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			if accepted != nil {
				accepted(c)
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil || !answer(c, r) {
						return
					}
				}
			}()
		}
	}()
	return app
}
