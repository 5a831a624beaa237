package secrets

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"ecode/internal/store"
)

// Uses of injected secrets (audit detail).
const (
	UseRun      = "run"
	UseExec     = "exec"
	UseTerminal = "terminal"
	UseAgent    = "agent"
	// UseDeploy is a deployment's build or instance: it gets the
	// production secrets, which override the project's of the same name.
	UseDeploy = "deploy"
)

// values decrypts the project's secrets and the account secrets linked
// into it (a project secret wins over a linked one of the same name); with
// production, the project's production secrets come first and win over both.
func (s *Service) values(ctx context.Context, projectID string, production bool) ([]Value, string, error) {
	type src struct {
		id   Identity
		name string
	}
	var srcs []src
	names := map[string]bool{}
	owners := []store.SecretOwner{projectOwner(projectID)}
	if production {
		owners = []store.SecretOwner{productionOwner(projectID), projectOwner(projectID)}
	}
	for _, o := range owners {
		own, err := s.st.Secrets(ctx, o)
		if err != nil {
			return nil, "", err
		}
		for _, si := range own {
			if !names[si.Name] {
				names[si.Name] = true
				srcs = append(srcs, src{Identity{o, si.Name, si.Version}, si.Name})
			}
		}
	}
	links, err := s.st.SecretLinks(ctx, projectID)
	if err != nil {
		return nil, "", err
	}
	for _, l := range links {
		if names[l.Name] {
			continue
		}
		uo := userOwner(l.UserID)
		v, err := s.st.SecretVersion(ctx, uo, l.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue // its owner deleted it
		}
		if err != nil {
			return nil, "", err
		}
		srcs = append(srcs, src{Identity{uo, l.Name, v}, l.Name})
	}
	var fp strings.Builder
	for _, sr := range srcs {
		fp.WriteString(sr.id.Owner.Scope + ":" + sr.id.Owner.ID + ":" + sr.name + ":" + strconv.FormatInt(sr.id.Version, 10) + ";")
	}
	key := loadKey(projectID, production)
	if ls, ok := s.cached(key, fp.String()); ok {
		return ls.values, fp.String(), nil
	}
	vals := make([]Value, 0, len(srcs))
	for _, sr := range srcs {
		v, err := s.decrypt(ctx, s.st, sr.id)
		if err != nil {
			return nil, "", err
		}
		vals = append(vals, Value{Name: sr.name, Value: v})
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i].Name < vals[j].Name })
	s.remember(key, fp.String(), vals)
	return vals, fp.String(), nil
}

// loadKey is where a project's decrypted set is kept: its development set
// under the project's id, its production set apart.
func loadKey(projectID string, production bool) string {
	if production {
		return projectID + "\x00production"
	}
	return projectID
}

func (s *Service) cached(key, fp string) (loadedSet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls, ok := s.loaded[key]
	return ls, ok && ls.fingerprint == fp
}

// remember keeps the project's values and matcher, and rebuilds the
// matcher of every loaded value (the server log's).
func (s *Service) remember(key, fp string, vals []Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded[key] = loadedSet{fingerprint: fp, values: vals, matcher: NewMatcher(vals)}
	var all []Value
	for _, ls := range s.loaded {
		all = append(all, ls.values...)
	}
	s.all.Store(NewMatcher(all))
}

// Env returns the project's secrets as NAME=value for a process started
// for use (run, exec, terminal, agent), and the matcher that masks them in
// its output. The injection is audited (names only). A deployment's
// process (UseDeploy) gets the production secrets over the project's.
func (s *Service) Env(ctx context.Context, projectID, use string) ([]string, *Matcher, error) {
	production := use == UseDeploy
	vals, _, err := s.values(ctx, projectID, production)
	if err != nil {
		return nil, nil, err
	}
	if len(vals) == 0 {
		return nil, NewMatcher(nil), nil
	}
	env := make([]string, 0, len(vals))
	names := make([]string, 0, len(vals))
	for _, v := range vals {
		env = append(env, v.Name+"="+v.Value)
		names = append(names, v.Name)
	}
	if err := s.audit(ctx, s.st, projectOwner(projectID), ActionInject, "", use+": "+strings.Join(names, ",")); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	m := s.loaded[loadKey(projectID, production)].matcher
	s.mu.Unlock()
	return env, m, nil
}

// Matcher returns the matcher of the project's current secrets (for
// output that is not a process's: the agent's transcript).
func (s *Service) Matcher(ctx context.Context, projectID string) (*Matcher, error) {
	if _, _, err := s.values(ctx, projectID, false); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded[projectID].matcher, nil
}

// Names lists the secret names a project's processes get.
func (s *Service) Names(ctx context.Context, projectID string) ([]string, error) {
	list, err := s.List(ctx, projectID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range list {
		if !in.Missing && !in.Shadowed {
			out = append(out, in.Name)
		}
	}
	return out, nil
}

// MaskString masks every value loaded so far (any project) in s.
func (s *Service) MaskString(v string) string {
	if m := s.all.Load(); m != nil {
		return m.String(v)
	}
	return v
}

// LogHandler wraps h so that every secret value the service has loaded is
// masked in log messages and string attributes (including groups and
// errors' texts) before h sees them.
func (s *Service) LogHandler(h slog.Handler) slog.Handler { return &logHandler{h: h, s: s} }

type logHandler struct {
	h slog.Handler
	s *Service
}

func (l *logHandler) Enabled(ctx context.Context, lv slog.Level) bool { return l.h.Enabled(ctx, lv) }

func (l *logHandler) Handle(ctx context.Context, r slog.Record) error {
	m := l.s.all.Load()
	if m.Empty() {
		return l.h.Handle(ctx, r)
	}
	nr := slog.NewRecord(r.Time, r.Level, m.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(maskAttr(m, a))
		return true
	})
	return l.h.Handle(ctx, nr)
}

func (l *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	// bound attributes are masked with the values loaded now
	out := make([]slog.Attr, len(as))
	m := l.s.all.Load()
	for i, a := range as {
		out[i] = maskAttr(m, a)
	}
	return &logHandler{h: l.h.WithAttrs(out), s: l.s}
}

func (l *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{h: l.h.WithGroup(name), s: l.s}
}

func maskAttr(m *Matcher, a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, m.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = maskAttr(m, ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, m.String(err.Error()))
		}
		return slog.String(a.Key, m.String(v.String()))
	}
	return a
}
