package testdb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Command finds a program the tests run (a server such as stripe-mock or
// Pebble, a checker such as promtool) on PATH or, for one installed with
// `go install`, in $(go env GOPATH)/bin. When it is missing the test fails
// in CI (CI set: .ci/run installs it) and is skipped elsewhere; both say
// install, how to get it.
func Command(t testing.TB, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := name + " is not installed: " + install
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
