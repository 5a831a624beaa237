//go:build !embed

package ui

import (
	"io/fs"
	"testing/fstest"
)

// FS returns a placeholder page: the binary was built without the UI
// (build with `make build`, which runs the UI build and `go build -tags embed`).
func FS() fs.FS {
	return fstest.MapFS{
		"index.html": &fstest.MapFile{Data: []byte(`<!doctype html><html><head><meta charset="utf-8"><title>E-Code</title></head>` +
			`<body><h1>E-Code</h1><p>This binary was built without the web UI. Run <code>make build</code>.</p></body></html>`)},
	}
}

// Embedded reports whether the real UI is compiled in.
const Embedded = false
