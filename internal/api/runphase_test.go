package api_test

import (
	"context"
	"testing"
)

// The run's state names the step of the script that runs now (install,
// build, run) and the limits the run is under.
func TestRunReportsPhaseAndLimits(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "phases", "blank")
	if err != nil {
		t.Fatal(err)
	}
	// The build waits for a file that only this test creates; the run never opens a port.
	toml := "build = \"while [ ! -f built ]; do sleep 0.05; done\"\nrun = \"sleep 60\"\n"
	if err := c.WriteFile(ctx, p.ID, ".ecode.toml", []byte(toml)); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	waitRun(t, srv, c, p.ID, func(s runState) bool { return s.Phase == "build" })
	if err := c.WriteFile(ctx, p.ID, "built", []byte("yes")); err != nil {
		t.Fatal(err)
	}
	st := waitRun(t, srv, c, p.ID, func(s runState) bool { return s.Phase == "run" })
	if st.State != "starting" || st.Listening {
		t.Errorf("a run without a port: %+v", st)
	}
	if st.Limits.MemoryBytes != 1<<30 || st.Limits.MaxProcs != 256 {
		t.Errorf("limits: %+v", st.Limits)
	}
	var stopped runState
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/stop", nil, "", &stopped); err != nil {
		t.Fatal(err)
	}
	if stopped.State != "stopped" || stopped.Phase != "run" {
		t.Errorf("after stop: %+v", stopped)
	}
}
