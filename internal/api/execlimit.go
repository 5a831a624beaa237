package api

import (
	"net/http"
	"sync"
)

// execLimits caps the commands, run starts and terminal openings in
// progress at once, per user and per project, so one user (or one project)
// flooding exec cannot use up the server's memory and processes while
// other people's commands wait.
type execLimits struct {
	perUser, perProject int

	mu       sync.Mutex
	users    map[string]int
	projects map[string]int
}

func newExecLimits(perUser, perProject int) *execLimits {
	return &execLimits{perUser: perUser, perProject: perProject, users: map[string]int{}, projects: map[string]int{}}
}

// acquire takes a slot for user in project, or says which cap is full.
func (l *execLimits) acquire(user, project string) (release func(), full string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.perUser > 0 && l.users[user] >= l.perUser:
		return nil, "you have"
	case l.perProject > 0 && l.projects[project] >= l.perProject:
		return nil, "this project has"
	}
	l.users[user]++
	l.projects[project]++
	var once sync.Once
	return func() { once.Do(func() { l.release(user, project) }) }, ""
}

func (l *execLimits) release(user, project string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users[user]--; l.users[user] <= 0 {
		delete(l.users, user)
	}
	if l.projects[project]--; l.projects[project] <= 0 {
		delete(l.projects, project)
	}
}

// execSlot takes a slot for the caller in the route's project, or answers
// 429 too_many_execs with Retry-After.
func (s *Server) execSlot(w http.ResponseWriter, r *http.Request) (release func(), err error) {
	release, full := s.execs.acquire(principal(r).User.ID, project(r).ID)
	if full != "" {
		w.Header().Set("Retry-After", "2")
		return nil, &Error{Status: http.StatusTooManyRequests, Code: "too_many_execs",
			Message: full + " too many commands running at once; wait for one to finish and try again"}
	}
	return release, nil
}
