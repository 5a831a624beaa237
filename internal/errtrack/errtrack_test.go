package errtrack

import (
	"strings"
	"testing"
	"time"
)

const goStack = `goroutine 7 [running]:
runtime/debug.Stack()
	/usr/local/go/src/runtime/debug/stack.go:26 +0x5e
ecode/internal/api.(*Server).recoverer.func1.1()
	/src/internal/api/middleware.go:180 +0x45
panic({0x10c2a40?, 0x13b7e10?})
	/usr/local/go/src/runtime/panic.go:792 +0x132
ecode/internal/api.panickingHandler({0x13c4f28, 0xc0001a2000}, 0xc0001b4000)
	/src/internal/api/export_test.go:14 +0x25
ecode/internal/api.(*Server).guard.func1({0x13c4f28, 0xc0001a2000}, 0xc0001b4000)
	/src/internal/api/routes.go:166 +0x1f3
`

// TestFingerprintGroups: the same fault groups across addresses, line
// numbers, ids in the message and build hashes; a different fault does not.
func TestFingerprintGroups(t *testing.T) {
	base := Report{Source: SourceServer, Kind: KindPanic, Route: "GET /x", Message: "panic: index 5 out of range", Stack: goStack}
	moved := base
	moved.Message = "panic: index 7 out of range"
	moved.Stack = strings.NewReplacer("0xc0001a2000", "0xc000999000", ":14 ", ":19 ", "+0x25", "+0x99").Replace(goStack)
	if Fingerprint(base) != Fingerprint(moved) {
		t.Error("the same panic at other addresses and lines makes another group")
	}
	other := base
	other.Stack = strings.ReplaceAll(goStack, "panickingHandler", "otherHandler")
	if Fingerprint(base) == Fingerprint(other) {
		t.Error("a panic in another function groups with the first")
	}
	if f := topFrames(goStack, 5); len(f) != 2 || f[0] != "ecode/internal/api.panickingHandler" {
		t.Errorf("frames %q: want the handler first, the recovery's frames skipped", f)
	}
	js := Report{Source: SourceBrowser, Kind: KindError, Message: "TypeError: x", Stack: "TypeError: x\n    at boom (http://h/assets/index-AbCdEf12.js:1:2345)"}
	js2 := js
	js2.Stack = "TypeError: x\n    at boom (http://h/assets/index-Zz99Yy88.js:1:999)"
	if Fingerprint(js) != Fingerprint(js2) {
		t.Error("the same browser error in another build makes another group")
	}
}

func TestLimiterAndVitals(t *testing.T) {
	now := time.Unix(0, 0)
	tr := New(nil, func() time.Time { return now }, nil, Options{BrowserRate: 60, Burst: 2})
	if !tr.Allow("a") || !tr.Allow("a") || tr.Allow("a") {
		t.Error("burst of 2 not enforced")
	}
	if !tr.Allow("b") {
		t.Error("another address shares the bucket")
	}
	now = now.Add(time.Second)
	if !tr.Allow("a") || tr.Allow("a") {
		t.Error("one token a second at 60 a minute")
	}
	for _, v := range []float64{100, 200, 300, 400} {
		tr.RecordVital("LCP", "/p/0123456789abcdef", v)
	}
	if tr.RecordVital("NOPE", "/", 1) || tr.RecordVital("LCP", "/", -1) {
		t.Error("unknown metric or negative value kept")
	}
	vs := tr.Vitals()
	if len(vs) != 1 || vs[0].Page != "/p/:n" || vs[0].P50 != 200 || vs[0].P75 != 300 || vs[0].P95 != 400 {
		t.Errorf("vitals %+v", vs)
	}
}

// TestVitalsRetention: samples older than the retention leave the
// summaries at once and this node's memory when pruned.
func TestVitalsRetention(t *testing.T) {
	now := time.Unix(0, 0)
	tr := New(nil, func() time.Time { return now }, nil, Options{Retention: time.Hour})
	tr.RecordVital("LCP", "/old", 900)
	tr.RecordVital("LCP", "/both", 800)
	now = now.Add(40 * time.Minute)
	tr.RecordVital("LCP", "/both", 100)
	now = now.Add(30 * time.Minute) // the first two are 70 minutes old
	vs := tr.Vitals()
	if len(vs) != 1 || vs[0].Page != "/both" || vs[0].Samples != 1 || vs[0].P95 != 100 {
		t.Fatalf("vitals within the hour %+v", vs)
	}
	tr.vitals.prune(now.Add(-time.Hour))
	if n := len(tr.vitals.samples); n != 1 || len(tr.vitals.samples[vitalKey{"LCP", "/both"}]) != 1 {
		t.Fatalf("after pruning: %d pages kept %+v", n, tr.vitals.samples)
	}
}

func FuzzFingerprint(f *testing.F) {
	f.Add("panic: x", goStack)
	f.Add("TypeError", "at boom (http://h/a-AbCdEf12.js:1:2)\nfn@http://h/b.js:3:4")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, msg, stack string) {
		r := Report{Source: SourceBrowser, Kind: KindError, Message: msg, Stack: stack}
		if len(Fingerprint(r)) != 24 {
			t.Fatal("fingerprint length")
		}
		if len(topFrames(stack, 5)) > 5 {
			t.Fatal("more than 5 frames")
		}
	})
}
