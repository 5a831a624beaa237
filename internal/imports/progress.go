package imports

import (
	"encoding/json"
	"sync"
	"time"
)

// Progress is an import's live state, stored (at most every 200 ms) and
// streamed to watchers.
type Progress struct {
	Step    string `json:"step"`              // queued, fetching, unpacking, detecting, secrets, creating, then the status
	Message string `json:"message,omitempty"` // the current activity in words (git's progress, a rate-limit wait)
	Files   int    `json:"files"`
	Bytes   int64  `json:"bytes"`
	// WaitingUntil is set while a rate limit makes the import wait.
	WaitingUntil *time.Time `json:"waiting_until,omitempty"`

	mu      sync.Mutex
	saved   time.Time
	persist func(p *Progress) // writes the record and tells watchers
}

// Set changes the progress through fn; a step change is saved at once,
// other changes at most every 200 ms.
func (p *Progress) set(fn func(*Progress)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	step := p.Step
	fn(p)
	due := p.Step != step || time.Since(p.saved) > 200*time.Millisecond
	if due {
		p.saved = time.Now()
	}
	persist := p.persist
	p.mu.Unlock()
	if due && persist != nil {
		persist(p)
	}
}

// Wait tells watchers the import waits for a rate limit until t.
func (p *Progress) Wait(t time.Time, why string) {
	p.set(func(p *Progress) { p.WaitingUntil, p.Message, p.saved = &t, why, time.Time{} })
}

// Note replaces the progress message.
func (p *Progress) Note(msg string) {
	p.set(func(p *Progress) { p.WaitingUntil, p.Message = nil, msg })
}

func (p *Progress) json() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(p)
	return string(b)
}

func (s *Service) progress(id string) *Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.prog[id]
	if p == nil {
		p = &Progress{Step: "queued"}
		s.prog[id] = p
	}
	return p
}
