package remote

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"
)

func FuzzReadFrame(f *testing.F) {
	var b bytes.Buffer
	writeFrame(&b, frameHeader, []byte(`{"op":"exec","args":["true"]}`))
	f.Add(b.Bytes())
	b.Reset()
	writeFrame(&b, frameResize, resizePayload(24, 80))
	writeFrame(&b, frameStdinEOF, nil)
	f.Add(b.Bytes())
	f.Add([]byte{frameStdout, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'?', 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			before := r.Len()
			typ, p, err := readFrame(r, nil)
			if err != nil {
				return
			}
			if !knownFrame(typ) || len(p) > maxFrame {
				t.Fatalf("accepted type %q with %d bytes", typ, len(p))
			}
			var again bytes.Buffer
			writeFrame(&again, typ, p)
			if consumed := data[len(data)-before : len(data)-r.Len()]; !bytes.Equal(again.Bytes(), consumed) {
				t.Fatalf("frame does not round-trip: %x vs %x", again.Bytes(), consumed)
			}
			if typ == frameResize {
				parseResize(p)
			}
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"exec","args":["sh","-c","echo hi"],"dir":"sub","stdin":true,"timeout_ms":100}`,
		`{"op":"pty","args":["sh"],"rows":24,"cols":80}`,
		`{"op":"dial","network":"tcp","addr":"127.0.0.1:3000"}`,
		`{"op":"tunnel","addr":"127.0.0.1:3128"}`, `{"op":"tunnel"}`,
		`{"op":"start","args":["x"],"dir":"../etc"}`,
		`{"op":"usage"}`, `{"op":"nope"}`, `[]`, `{"op":"exec","args":[],"deadline_ms":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseRequest(data)
		if err != nil {
			return
		}
		switch r.Op {
		case "exec", "start", "pty":
			if len(r.Args) == 0 || r.TimeoutMS < 0 || r.DeadlineMS < 0 || r.OutputLimit < 0 {
				t.Fatalf("accepted %+v", r)
			}
			if r.Dir != "" && !filepath.IsAbs(r.Dir) && !filepath.IsLocal(r.Dir) {
				t.Fatalf("accepted dir %q", r.Dir)
			}
		case "dial", "killall", "usage":
		case "tunnel":
			if r.Addr == "" {
				t.Fatalf("accepted a tunnel without an address: %+v", r)
			}
		default:
			t.Fatalf("accepted op %q", r.Op)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzServerHandshake feeds the agent arbitrary bytes as a node: none may
// authenticate without the token.
func FuzzServerHandshake(f *testing.F) {
	f.Add([]byte(magic + string(make([]byte, nonceLen+32))))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(data), io.Discard}
		if serverHandshake(rw, "the-token") == nil {
			t.Fatal("authenticated without the token")
		}
	})
}
