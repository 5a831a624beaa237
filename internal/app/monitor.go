package app

import (
	"ecode/internal/billing"
	"ecode/internal/config"
	"ecode/internal/monitor"
	"ecode/internal/volume"
)

// buildMonitor makes the sampler of the admin Monitoring page: this node's
// requests (the API's OnRequest), its sandboxes and data disk, the
// cluster's active users, agent spend and job queue. Run samples it every
// --monitor-interval.
func (s *Server) buildMonitor(cfg *config.Config, d Deps, disk volume.Disk) {
	s.Monitor = monitor.New(monitor.Options{Store: d.Store, Now: d.Now, Log: d.Log.With("component", "monitor"),
		Interval: cfg.MonitorInterval, Retention: cfg.MonitorRetention,
		Sources: monitor.Sources{
			Sandboxes:   s.Runner.Active,
			Jobs:        s.Jobs.Counts,
			Disk:        disk.Usage,
			SpendMeters: []string{billing.MeterAI, billing.MeterAgent},
		}})
}
