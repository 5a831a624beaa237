package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/yjs"
)

// traceResult is what node/trace.mjs prints.
type traceResult struct {
	BestNS  int64  `json:"best_ns"`
	Updates int    `json:"updates"`
	TextSHA string `json:"text_sha"`
}

// benchTrace replays the same trace into a fresh document with E-Code's Go
// package (in this process) and with yjs under Node (node/trace.mjs), best
// of three each, checks both end with the same text, and prints the time
// per update and the ratio.
func benchTrace(ctx context.Context, nodeDir string, n int) error {
	ups, want, err := yjs.SyntheticTrace(n)
	if err != nil {
		return err
	}
	best := time.Duration(1<<63 - 1)
	for range 3 {
		t0 := time.Now()
		d := yjs.NewDoc()
		for _, u := range ups {
			if err := d.ApplyUpdate(u); err != nil {
				return err
			}
		}
		best = min(best, time.Since(t0))
		if d.Text("t") != want {
			return fmt.Errorf("trace: the Go replay diverged")
		}
	}
	f, err := os.CreateTemp("", "collabbench-trace-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	var hdr [4]byte
	for _, u := range ups {
		binary.LittleEndian.PutUint32(hdr[:], uint32(len(u)))
		f.Write(hdr[:])
		f.Write(u)
	}
	if err := f.Close(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(nodeDir, "trace.mjs"), f.Name())
	cmd.Dir = nodeDir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("trace under node: %w", err)
	}
	var ref traceResult
	if err := json.Unmarshal(out, &ref); err != nil {
		return fmt.Errorf("trace under node: %q: %w", out, err)
	}
	sum := sha256.Sum256([]byte(want))
	if ref.Updates != len(ups) || ref.TextSHA != hex.EncodeToString(sum[:]) {
		return fmt.Errorf("trace: yjs ended with other text than the Go package (%d updates)", ref.Updates)
	}
	goPer := float64(best.Nanoseconds()) / float64(len(ups)) / 1000
	jsPer := float64(ref.BestNS) / float64(len(ups)) / 1000
	fmt.Printf("editing trace: %d single-character updates applied to a fresh document (best of 3), same final text\n", len(ups))
	fmt.Printf("%-10s %10.2f µs/update %10.0f ms\n%-10s %10.2f µs/update %10.0f ms\n%-10s %10.2f\n\n",
		"ecode (Go)", goPer, best.Seconds()*1000, "yjs (Node)", jsPer, float64(ref.BestNS)/1e6, "ratio", goPer/jsPer)
	return nil
}

// peakRSS is a process's peak resident memory in bytes (VmHWM), or 0.
func peakRSS(pid int) int64 { return benchsrv.ProcKB(strconv.Itoa(pid), "status", "VmHWM") }
