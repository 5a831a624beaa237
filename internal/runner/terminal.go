package runner

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"ecode/internal/sandbox"
	"ecode/internal/secrets"
)

// scrollbackKeep is how much terminal output is replayed on reattach.
const scrollbackKeep = 256 << 10

// ErrNoTerminal is returned for an unknown terminal id.
var ErrNoTerminal = errors.New("no such terminal")

// Terminal is an interactive shell on a pseudo-terminal in the project's
// sandbox. It lives on when its viewers disconnect.
type Terminal struct {
	ID        string
	CreatedAt time.Time
	proc      *sandbox.Process
	out       *Log

	mu       sync.Mutex
	rows     uint16
	cols     uint16
	clients  int
	exitCode *int
}

// TerminalInfo describes a terminal for listings.
type TerminalInfo struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Rows      uint16    `json:"rows"`
	Cols      uint16    `json:"cols"`
	Exited    bool      `json:"exited"`
	ExitCode  *int      `json:"exit_code,omitempty"`
}

// Info describes the terminal.
func (t *Terminal) Info() TerminalInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TerminalInfo{ID: t.ID, CreatedAt: t.CreatedAt, Rows: t.rows, Cols: t.cols, Exited: t.exitCode != nil, ExitCode: t.exitCode}
}

// Output is the terminal's output stream (with its scrollback).
func (t *Terminal) Output() *Log { return t.out }

// Write sends keystrokes to the shell.
func (t *Terminal) Write(p []byte) (int, error) { return t.proc.Write(p) }

// Resize changes the terminal size.
func (t *Terminal) Resize(rows, cols uint16) error {
	if rows == 0 || cols == 0 || rows > 1000 || cols > 1000 {
		return errors.New("terminal size out of range")
	}
	t.mu.Lock()
	t.rows, t.cols = rows, cols
	t.mu.Unlock()
	return t.proc.Resize(rows, cols)
}

// Attach counts a viewer; the returned function detaches it.
func (t *Terminal) Attach() (detach func()) {
	t.mu.Lock()
	t.clients++
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			t.clients--
			t.mu.Unlock()
		})
	}
}

func (t *Terminal) attached() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clients
}

// ExitCode is the shell's exit code once it has ended.
func (t *Terminal) ExitCode() (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exitCode == nil {
		return 0, false
	}
	return *t.exitCode, true
}

// OpenTerminal starts a login shell in the project's sandbox.
func (m *Manager) OpenTerminal(ctx context.Context, projectID string, rows, cols uint16) (*Terminal, error) {
	if rows == 0 || cols == 0 {
		rows, cols = 24, 80
	}
	e, err := m.box(ctx, projectID)
	if err != nil {
		return nil, err
	}
	env, mask, err := m.processEnv(ctx, projectID, "terminal", "TERM=xterm-256color", "COLORTERM=truecolor")
	if err != nil {
		return nil, err
	}
	proc, err := e.ws.StartPTY(context.WithoutCancel(ctx), sandbox.Cmd{
		Args: []string{"/bin/bash", "-l"}, Env: env,
	}, rows, cols)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.runs++
	t := &Terminal{ID: "t" + strconv.Itoa(e.runs), CreatedAt: m.opts.Now(), proc: proc, out: NewLog(scrollbackKeep), rows: rows, cols: cols}
	e.terms[t.ID] = t
	e.mu.Unlock()
	m.wg.Go(func() { t.pump(mask) })
	return t, nil
}

// pump copies the shell's output into the scrollback until it exits.
func (t *Terminal) pump(mask *secrets.Matcher) {
	sink := mask.Stream(t.out)
	buf := make([]byte, 32<<10)
	for {
		n, err := t.proc.Read(buf)
		if n > 0 {
			sink.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	sink.Flush()
	res, _ := t.proc.Wait()
	t.mu.Lock()
	code := res.ExitCode
	t.exitCode = &code
	t.mu.Unlock()
	t.out.Close()
}

// Terminal returns one of the project's terminals.
func (m *Manager) Terminal(projectID, id string) (*Terminal, error) {
	e := m.existing(projectID)
	if e == nil {
		return nil, ErrNoTerminal
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.terms[id]
	if !ok {
		return nil, ErrNoTerminal
	}
	return t, nil
}

// Terminals lists the project's terminals, oldest first.
func (m *Manager) Terminals(projectID string) []TerminalInfo {
	e := m.existing(projectID)
	out := []TerminalInfo{}
	if e == nil {
		return out
	}
	e.mu.Lock()
	terms := make([]*Terminal, 0, len(e.terms))
	for _, t := range e.terms {
		terms = append(terms, t)
	}
	e.mu.Unlock()
	for _, t := range terms {
		out = append(out, t.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) || out[i].ID < out[j].ID })
	return out
}

// CloseTerminal kills a terminal's shell and forgets it.
func (m *Manager) CloseTerminal(projectID, id string) error {
	t, err := m.Terminal(projectID, id)
	if err != nil {
		return err
	}
	t.proc.Kill()
	e := m.existing(projectID)
	if e != nil {
		e.mu.Lock()
		delete(e.terms, id)
		e.mu.Unlock()
	}
	return nil
}
