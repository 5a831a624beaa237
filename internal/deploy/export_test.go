package deploy

// KillServing kills the process of the project's serving instance (the
// group's first) and returns once it exited: a crash its supervisor may
// not have seen yet when the next request comes.
func (s *Service) KillServing(projectID string) {
	d := s.live(projectID)
	d.mu.Lock()
	inst := d.active
	d.mu.Unlock()
	inst.mu.Lock()
	proc := inst.proc
	inst.mu.Unlock()
	proc.Kill()
	<-proc.Done()
}

// RawServed is how many requests the raw path answered.
func (s *Service) RawServed() int64 { return s.raw.Load() }
