package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// result is what node/bench.mjs prints for one run.
type result struct {
	Clients    int     `json:"clients"`
	Edits      int     `json:"edits"`
	Deliveries int     `json:"deliveries"`
	Seconds    float64 `json:"seconds"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	Converged  bool    `json:"converged"`
	Length     int     `json:"length"`

	CPU time.Duration `json:"-"` // the server's, during the run
}

func (r result) rate() float64 { return float64(r.Edits) / r.Seconds }

// cpuPerEdit is the server's CPU time per accepted edit, in µs: taking it,
// relaying it to every other client (and, for E-Code, logging it).
func (r result) cpuPerEdit() float64 { return float64(r.CPU.Microseconds()) / float64(r.Edits) }

// median takes the median of every column of runs separately.
func median(runs []result) result {
	col := func(f func(result) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m := runs[0]
	m.Seconds = float64(m.Edits) / col(result.rate)
	m.P50 = col(func(r result) float64 { return r.P50 })
	m.P90 = col(func(r result) float64 { return r.P90 })
	m.P99 = col(func(r result) float64 { return r.P99 })
	m.Max = col(func(r result) float64 { return r.Max })
	m.CPU = time.Duration(col(func(r result) float64 { return float64(r.CPU) }))
	for _, r := range runs {
		m.Converged = m.Converged && r.Converged
	}
	return m
}

// bench runs node/bench.mjs with args.
func bench(ctx context.Context, dir string, args []string) (result, error) {
	cmd := exec.CommandContext(ctx, "node", append([]string{"bench.mjs"}, args...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("bench output %q: %w", out.String(), err)
	}
	if !r.Converged {
		return r, fmt.Errorf("clients did not converge")
	}
	return r, nil
}
