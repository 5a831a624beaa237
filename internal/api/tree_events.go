package api

import (
	"fmt"
	"net/http"
	"time"

	"ecode/internal/workspace"
)

// treeEvents tells a file tree when to load again, as Server-Sent Events: a
// "changed" event whenever an entry was added, removed or renamed anywhere
// in the project, by anyone or anything (a run, a terminal, the agent,
// another member, a restore). The listing is polled (folders only, every
// TreePoll) while someone watches.
func (s *Server) treeEvents(w http.ResponseWriter, r *http.Request) error {
	return s.withFiles(r, func(p *workspace.Project) error {
		last, err := p.ListingVersion()
		if err != nil {
			return err
		}
		rc := http.NewResponseController(w)
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "event: listing\ndata: {\"version\":%q}\n\n", last)
		poll := time.NewTicker(s.opts.TreePoll)
		defer poll.Stop()
		idle := 0
		for {
			if err := rc.Flush(); err != nil {
				return nil // the client is gone
			}
			select {
			case <-r.Context().Done():
				return nil
			case <-poll.C:
			}
			v, err := p.ListingVersion()
			if err != nil {
				return nil // the project went away
			}
			if v != last {
				last, idle = v, 0
				fmt.Fprintf(w, "event: changed\ndata: {\"version\":%q}\n\n", v)
				continue
			}
			if idle++; time.Duration(idle)*s.opts.TreePoll >= 15*time.Second {
				idle = 0
				fmt.Fprint(w, ": ping\n\n") // keeps proxies from closing an idle stream
			}
		}
	})
}
