// Command maskbench measures the console's cost of masking secrets: bytes
// per second written through runner.Log as run output is (4 KiB chunks of
// log-like text), plainly and through the masking stream of 50 secrets
// (each value with its encodings), in the same run, and prints the ratio.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"ecode/internal/runner"
	"ecode/internal/secrets"
)

func main() {
	total := flag.Int("mb", 64, "megabytes of output per measurement")
	n := flag.Int("secrets", 50, "number of secrets")
	flag.Parse()

	var vals []secrets.Value
	for i := range *n {
		b := make([]byte, 16)
		rand.Read(b)
		vals = append(vals, secrets.Value{Name: fmt.Sprintf("SECRET_%d", i), Value: "sk-" + hex.EncodeToString(b)})
	}
	m := secrets.NewMatcher(vals)
	var text strings.Builder
	for i := 0; text.Len() < 4096; i++ {
		fmt.Fprintf(&text, "2026-12-06T06:%02d:00Z INFO request method=GET path=/api/items/%d status=200 dur=%dms\n", i%60, i, i%17)
	}
	chunk := []byte(text.String()[:4096])
	bytesTotal := *total << 20

	measure := func(sink func() io.Writer, wrap func(w io.Writer) (io.Writer, func() error)) float64 {
		best := 0.0
		for range 3 {
			w, flush := wrap(sink())
			start := time.Now()
			for done := 0; done < bytesTotal; done += len(chunk) {
				w.Write(chunk)
			}
			flush()
			best = max(best, float64(bytesTotal)/time.Since(start).Seconds())
		}
		return best
	}
	logSink := func() io.Writer { return runner.NewLog(1 << 20) }
	discard := func() io.Writer { return io.Discard }
	none := func(w io.Writer) (io.Writer, func() error) { return w, func() error { return nil } }
	mask := func(w io.Writer) (io.Writer, func() error) { s := m.Stream(w); return s, s.Flush }
	plain, masked := measure(logSink, none), measure(logSink, mask)
	alone := measure(discard, mask)
	fmt.Printf("console throughput through runner.Log, %d MiB in 4 KiB chunks, best of 3\n", *total)
	fmt.Printf("  without masking:           %8.0f MB/s\n", plain/1e6)
	fmt.Printf("  masking %d secrets:        %8.0f MB/s\n", *n, masked/1e6)
	fmt.Printf("  ratio masked/plain:        %8.3f\n", masked/plain)
	fmt.Printf("  the masker alone (to io.Discard): %.0f MB/s\n", alone/1e6)
}
