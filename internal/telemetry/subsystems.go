package telemetry

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// subsystemMetrics are the families of collaboration, sandboxes and runs,
// the agent, and checkpoints and restores. The packages that do the work
// know nothing of Prometheus: they call hooks (runner.Observer,
// collab.Options.OnLogged, ...) that the composition root points at the
// methods below.
type subsystemMetrics struct {
	collabUpdates           prometheus.Counter
	collabLogLag, collabLag prometheus.Histogram
	sandboxStart            *prometheus.HistogramVec
	kills                   *prometheus.CounterVec
	runsStarted             prometheus.Counter
	runExits, execs         *prometheus.CounterVec
	agentTurns, agentTokens *prometheus.CounterVec
	agentCost               prometheus.Counter
	cpOps, cpBytes          *prometheus.CounterVec
	cpDuration              *prometheus.HistogramVec
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newSubsystemMetrics(reg *prometheus.Registry) *subsystemMetrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	histVec := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	m := &subsystemMetrics{
		collabUpdates: counter("ecode_collab_updates_total", "Document updates of live collaboration written to the store's log."),
		collabLogLag:  hist("ecode_collab_log_lag_seconds", "Time from a room taking an update to its write to the store's log ending.", latencyBuckets),
		collabLag:     hist("ecode_collab_relay_lag_seconds", "Time from another node sending an update (Redis) to this node applying it.", latencyBuckets),
		sandboxStart: histVec("ecode_sandbox_start_seconds", "Time to open a project's sandbox, by result (ok, error).",
			[]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "result"),
		kills:       counterVec("ecode_sandbox_kills_total", "Processes a sandbox limit ended, by reason (out_of_memory, process_limit, timeout, disk_full).", "reason"),
		runsStarted: counter("ecode_runs_started_total", "Run processes started."),
		runExits:    counterVec("ecode_run_exits_total", "Run processes ended, by reason (exited: by itself; stopped; killed; or a limit).", "reason"),
		execs:       counterVec("ecode_execs_total", "One-off commands ended, by use (exec, agent) and reason (exited or a limit).", "use", "reason"),
		agentTurns:  counterVec("ecode_agent_turns_total", "Agent turns ended, by stop reason.", "stop_reason"),
		agentTokens: counterVec("ecode_agent_tokens_total", "Model tokens agent turns used, by kind (input, output, cache_read, cache_write).", "kind"),
		agentCost:   counter("ecode_agent_cost_microdollars_total", "What agent turns cost at list price, in millionths of a US dollar."),
		cpOps:       counterVec("ecode_checkpoint_ops_total", "Checkpoints and restores, by operation (checkpoint, restore) and result (ok, error).", "op", "result"),
		cpBytes:     counterVec("ecode_checkpoint_bytes_total", "Bytes checkpoints added to the object store (checkpoint) and bytes of trees restored (restore).", "op"),
		cpDuration: histVec("ecode_checkpoint_duration_seconds", "Time a checkpoint or a restore took, by operation.",
			[]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120}, "op"),
	}
	reg.MustRegister(m.collabUpdates, m.collabLogLag, m.collabLag, m.sandboxStart, m.kills, m.runsStarted, m.runExits,
		m.execs, m.agentTurns, m.agentTokens, m.agentCost, m.cpOps, m.cpBytes, m.cpDuration)
	// Series that alerts and rates need before the first event.
	for _, r := range limitReasons {
		m.kills.WithLabelValues(r)
	}
	for _, k := range []string{"input", "output", "cache_read", "cache_write"} {
		m.agentTokens.WithLabelValues(k)
	}
	m.sandboxStart.WithLabelValues("ok")
	m.runExits.WithLabelValues("exited")
	m.execs.WithLabelValues("exec", "exited")
	m.agentTurns.WithLabelValues("end_turn")
	m.agentTurns.WithLabelValues("error")
	for _, op := range []string{"checkpoint", "restore"} {
		m.cpDuration.WithLabelValues(op)
		m.cpOps.WithLabelValues(op, "ok")
		m.cpOps.WithLabelValues(op, "error")
		m.cpBytes.WithLabelValues(op)
	}
	return m
}

// limitReasons are the sandbox's reasons for a process that a limit ended
// (sandbox.Reason*; telemetry imports no internal package).
var limitReasons = []string{"out_of_memory", "process_limit", "timeout", "disk_full"}

func isLimit(reason string) bool {
	for _, r := range limitReasons {
		if r == reason {
			return true
		}
	}
	return false
}

// CollabLogged records a write of n collaboration updates to the log.
func (m *Metrics) CollabLogged(n int, lag time.Duration) {
	m.sub.collabUpdates.Add(float64(n))
	m.sub.collabLogLag.Observe(lag.Seconds())
}

// CollabRelayed records an update relayed from another node.
func (m *Metrics) CollabRelayed(lag time.Duration) { m.sub.collabLag.Observe(lag.Seconds()) }

// SandboxStarted records the opening of a sandbox (runner.Observer).
func (m *Metrics) SandboxStarted(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.sub.sandboxStart.WithLabelValues(result).Observe(d.Seconds())
}

// RunStarted records a run process started (runner.Observer).
func (m *Metrics) RunStarted() { m.sub.runsStarted.Inc() }

// ProcessEnded records the end of a run or a one-off command; reason is
// the sandbox's ("" when the process exited by itself) (runner.Observer).
func (m *Metrics) ProcessEnded(use, reason string) {
	if isLimit(reason) {
		m.sub.kills.WithLabelValues(reason).Inc()
	}
	if reason == "" {
		reason = "exited"
	}
	if use == "run" {
		m.sub.runExits.WithLabelValues(reason).Inc()
		return
	}
	m.sub.execs.WithLabelValues(use, reason).Inc()
}

// AgentTurn records an ended agent turn: its stop reason, its tokens and
// its cost in US dollars.
func (m *Metrics) AgentTurn(stop string, input, output, cacheRead, cacheWrite int64, costUSD float64) {
	m.sub.agentTurns.WithLabelValues(stop).Inc()
	for kind, n := range map[string]int64{"input": input, "output": output, "cache_read": cacheRead, "cache_write": cacheWrite} {
		m.sub.agentTokens.WithLabelValues(kind).Add(float64(n))
	}
	if costUSD > 0 {
		m.sub.agentCost.Add(math.Round(costUSD * 1e6))
	}
}

// CheckpointOp records a checkpoint or a restore (history.Service.Observe).
func (m *Metrics) CheckpointOp(op string, d time.Duration, bytes int64, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.sub.cpOps.WithLabelValues(op, result).Inc()
	m.sub.cpDuration.WithLabelValues(op).Observe(d.Seconds())
	if err == nil {
		m.sub.cpBytes.WithLabelValues(op).Add(float64(bytes))
	}
}
