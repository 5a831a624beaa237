//go:build linux

package sandbox

import "testing"

// OpenTestWorkspace opens a workspace of the tests' shared local runner
// (real bubblewrap) for the sandboxtest suite; it skips, or fails when
// ECODE_REQUIRE_SANDBOX=1, where that runner cannot work.
func OpenTestWorkspace(t *testing.T, l Limits) Workspace { return newWS(t, l).Workspace }
