package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ecode/internal/store"
)

// Actor is who does something with a secret, for the audit log.
type Actor struct {
	UserID string
	Name   string // email or name, as shown in the log
	Via    string // "session:<id>" or "token:<id>"; never the credential
	Client string // client address
}

type actorKey struct{}

// WithActor returns ctx carrying the actor (the API sets it per request).
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorSource gives the actor of a request when a secret is used: the API
// installs one per request and works the actor out only then.
type ActorSource interface {
	SecretActor() Actor
}

// WithActorSource returns ctx carrying src, asked for the actor by ActorFrom.
func WithActorSource(ctx context.Context, src ActorSource) context.Context {
	return context.WithValue(ctx, actorKey{}, src)
}

// ActorFrom returns the actor of ctx (the zero Actor, logged as "system").
func ActorFrom(ctx context.Context) Actor {
	switch a := ctx.Value(actorKey{}).(type) {
	case Actor:
		return a
	case ActorSource:
		return a.SecretActor()
	}
	return Actor{}
}

// ErrNotFound is returned for a secret that does not exist.
var ErrNotFound = errors.New("secret not found")

// Service keeps secrets: the API's operations, injection, masking, audit.
type Service struct {
	st   *store.Store
	keys *Keyring
	now  func() time.Time
	log  *slog.Logger

	// Changed, when set, is told after a project's secrets (or an account
	// secret linked into it) changed, so a running app can be restarted.
	Changed func(ctx context.Context, projectID string)

	mu      sync.Mutex
	loaded  map[string]loadedSet // by project id: the values last decrypted
	all     atomic.Pointer[Matcher]
	writeMu sync.Mutex // one audit append at a time in this process
}

type loadedSet struct {
	fingerprint string
	values      []Value
	matcher     *Matcher
}

// New returns the service over st with the master keys of keys.
func New(st *store.Store, keys *Keyring, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, keys: keys, now: now, log: log, loaded: map[string]loadedSet{}}
}

// Info describes a secret without its value.
type Info struct {
	Name      string    `json:"name"`
	Scope     string    `json:"scope"` // project | account | production
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	// LinkedFrom is the account (user id) a linked account secret belongs to.
	LinkedFrom string `json:"linked_from,omitempty"`
	// Missing: a linked account secret its owner has deleted.
	Missing bool `json:"missing,omitempty"`
	// Shadowed: a linked account secret a project secret of the same name overrides.
	Shadowed bool `json:"shadowed,omitempty"`
	// LastUsedAt and UsedBy: the last time the value was given to a process.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	UsedBy     string     `json:"used_by,omitempty"`
}

func projectOwner(id string) store.SecretOwner {
	return store.SecretOwner{Scope: store.ScopeProject, ID: id}
}
func userOwner(id string) store.SecretOwner { return store.SecretOwner{Scope: store.ScopeUser, ID: id} }

// dataKey returns the owner's data key, creating it when create is set.
func (s *Service) dataKey(ctx context.Context, st *store.Store, o store.SecretOwner, create bool) ([]byte, error) {
	k, err := st.SecretDataKey(ctx, o)
	if errors.Is(err, store.ErrNotFound) && create {
		dek := newKey()
		wrapped, kekID := s.keys.wrap(dek, dekAD(o))
		err = st.InsertSecretDataKey(ctx, store.SecretKey{Owner: o, Wrapped: wrapped, KekID: kekID}, s.now())
		if err == nil {
			return dek, nil
		}
		if errors.Is(err, store.ErrConflict) {
			k, err = st.SecretDataKey(ctx, o)
		}
	}
	if err != nil {
		return nil, err
	}
	return s.keys.unwrap(k.Wrapped, k.KekID, dekAD(o))
}

// decrypt returns the value of one version.
func (s *Service) decrypt(ctx context.Context, st *store.Store, id Identity) (string, error) {
	dek, err := s.dataKey(ctx, st, id.Owner, false)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", id.Name, err)
	}
	ct, err := st.SecretCiphertext(ctx, id.Owner, id.Name, id.Version)
	if err != nil {
		return "", fmt.Errorf("secret %s version %d: %w", id.Name, id.Version, err)
	}
	v, err := open(dek, id, ct)
	if err != nil {
		return "", fmt.Errorf("secret %s version %d: %w", id.Name, id.Version, err)
	}
	return string(v), nil
}

// audit appends a row for o; it joins st's transaction when st has one.
func (s *Service) audit(ctx context.Context, st *store.Store, o store.SecretOwner, action, name, detail string) error {
	a := ActorFrom(ctx)
	if a.UserID == "" && a.Name == "" {
		a.Name = "system"
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return st.AppendSecretAudit(ctx, func(r *store.SecretAudit) {
		r.At, r.Owner, r.Action, r.Name, r.Detail = s.now().UTC().Truncate(time.Microsecond), o, action, name, detail
		r.ActorID, r.Actor, r.Via, r.Client = a.UserID, a.Name, a.Via, a.Client
		r.Hash = rowHash(*r)
	})
}

// put stores a new version of o's secret and audits it.
func (s *Service) put(ctx context.Context, st *store.Store, o store.SecretOwner, name, value string) (created bool, err error) {
	if err := CheckName(name); err != nil {
		return false, err
	}
	if err := CheckValue(value); err != nil {
		return false, err
	}
	by := ActorFrom(ctx).UserID
	err = st.InTx(ctx, func(tx *store.Store) error {
		_, err := tx.SecretVersion(ctx, o, name)
		created = errors.Is(err, store.ErrNotFound)
		if err != nil && !created {
			return err
		}
		if created {
			list, err := tx.Secrets(ctx, o)
			if err != nil {
				return err
			}
			if len(list) >= MaxPerOwner {
				return &NameError{fmt.Sprintf("at most %d secrets", MaxPerOwner)}
			}
		}
		dek, err := s.dataKey(ctx, tx, o, true)
		if err != nil {
			return err
		}
		_, err = tx.PutSecretVersion(ctx, o, name, by, s.now(), func(version int64) ([]byte, error) {
			return seal(dek, Identity{o, name, version}, []byte(value))
		})
		if err != nil {
			return err
		}
		action := ActionUpdate
		if created {
			action = ActionCreate
		}
		return s.audit(ctx, tx, o, action, name, "")
	})
	return created, err
}

// remove deletes o's secret (its versions stay for checkpoint restores).
func (s *Service) remove(ctx context.Context, o store.SecretOwner, name string) error {
	return s.st.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.SecretVersion(ctx, o, name); errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if err := tx.SetSecretVersion(ctx, o, name, 0, ActorFrom(ctx).UserID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, o, ActionDelete, name, "")
	})
}

// reveal decrypts o's secret; the audit row is written in the same
// transaction, and without it the value is not returned (fail closed).
func (s *Service) reveal(ctx context.Context, o store.SecretOwner, name string) (string, error) {
	var value string
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		v, err := tx.SecretVersion(ctx, o, name)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if value, err = s.decrypt(ctx, tx, Identity{o, name, v}); err != nil {
			return err
		}
		return s.audit(ctx, tx, o, ActionReveal, name, "")
	})
	if err != nil {
		return "", err
	}
	return value, nil
}

// List returns a project's secrets and the account secrets linked into it,
// with when each was last given to a process.
func (s *Service) List(ctx context.Context, projectID string) ([]Info, error) {
	own, err := s.st.Secrets(ctx, projectOwner(projectID))
	if err != nil {
		return nil, err
	}
	var out []Info
	names := map[string]bool{}
	for _, si := range own {
		names[si.Name] = true
		out = append(out, info(si, "project"))
	}
	links, err := s.st.SecretLinks(ctx, projectID)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		in := Info{Name: l.Name, Scope: "account", LinkedFrom: l.UserID, Shadowed: names[l.Name]}
		if list, err := s.st.Secrets(ctx, userOwner(l.UserID)); err == nil {
			in.Missing = true
			for _, si := range list {
				if si.Name == l.Name {
					in = info(si, "account")
					in.LinkedFrom, in.Shadowed = l.UserID, names[l.Name]
				}
			}
		}
		out = append(out, in)
	}
	if err := s.markUse(ctx, projectID, out); err != nil {
		return nil, err
	}
	return out, nil
}

func info(si store.SecretInfo, scope string) Info {
	return Info{Name: si.Name, Scope: scope, Version: si.Version, CreatedAt: si.CreatedAt, UpdatedAt: si.UpdatedAt, UpdatedBy: si.UpdatedBy}
}

// markUse fills LastUsedAt/UsedBy from the project's injection audit rows.
func (s *Service) markUse(ctx context.Context, projectID string, infos []Info) error {
	rows, err := s.st.SecretAuditLog(ctx, projectOwner(projectID))
	if err != nil {
		return err
	}
	for i := len(rows) - 1; i >= 0; i-- {
		a := rows[i]
		if a.Action != ActionInject {
			continue
		}
		use, list, _ := strings.Cut(a.Detail, ": ")
		for _, n := range strings.Split(list, ",") {
			for j := range infos {
				if infos[j].Name == n && infos[j].LastUsedAt == nil {
					at := a.At
					infos[j].LastUsedAt, infos[j].UsedBy = &at, use
				}
			}
		}
	}
	return nil
}

// Put sets a project secret (a new version when it exists).
func (s *Service) Put(ctx context.Context, projectID, name, value string) (created bool, err error) {
	created, err = s.put(ctx, s.st, projectOwner(projectID), name, value)
	if err == nil {
		s.changed(ctx, projectID)
	}
	return created, err
}

// Delete removes a project secret.
func (s *Service) Delete(ctx context.Context, projectID, name string) error {
	err := s.remove(ctx, projectOwner(projectID), name)
	if err == nil {
		s.changed(ctx, projectID)
	}
	return err
}

// Reveal returns a project secret's value (audited, fail closed).
func (s *Service) Reveal(ctx context.Context, projectID, name string) (string, error) {
	return s.reveal(ctx, projectOwner(projectID), name)
}

// Import sets every NAME=value of a .env block. Every line is checked
// before anything is stored; the names set are returned in order.
func (s *Service) Import(ctx context.Context, projectID, text string) ([]string, error) {
	pairs, err := ParseDotenv(text)
	if err != nil {
		return nil, &NameError{err.Error()}
	}
	if len(pairs) == 0 {
		return nil, &NameError{"no NAME=value lines"}
	}
	for _, p := range pairs {
		if err := CheckName(p.Name); err != nil {
			return nil, &NameError{fmt.Sprintf("line %d: %v", p.Line, err)}
		}
		if err := CheckValue(p.Value); err != nil {
			return nil, &NameError{fmt.Sprintf("line %d (%s): %v", p.Line, p.Name, err)}
		}
	}
	var names []string
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		for _, p := range pairs {
			if _, err := s.put(ctx, tx, projectOwner(projectID), p.Name, p.Value); err != nil {
				return err
			}
			names = append(names, p.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx, projectID)
	return names, nil
}

func (s *Service) changed(ctx context.Context, projectID string) {
	if s.Changed != nil {
		s.Changed(context.WithoutCancel(ctx), projectID)
	}
}

// AuditEntry is an audit row as the API shows it.
type AuditEntry struct {
	Seq     int64     `json:"seq"`
	Action  string    `json:"action"`
	Name    string    `json:"name"`
	Actor   string    `json:"actor"`
	ActorID string    `json:"actor_id,omitempty"`
	At      time.Time `json:"at"`
	Via     string    `json:"via,omitempty"`
	Client  string    `json:"client,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Hash    string    `json:"hash"`
}

// Audit lists a project's audit rows, oldest first.
func (s *Service) Audit(ctx context.Context, projectID string) ([]AuditEntry, error) {
	return s.auditOf(ctx, projectOwner(projectID))
}

func (s *Service) auditOf(ctx context.Context, o store.SecretOwner) ([]AuditEntry, error) {
	rows, err := s.st.SecretAuditLog(ctx, o)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(rows))
	for _, a := range rows {
		out = append(out, AuditEntry{Seq: a.Seq, Action: a.Action, Name: a.Name, Actor: a.Actor, ActorID: a.ActorID, At: a.At,
			Via: a.Via, Client: a.Client, Detail: a.Detail, Hash: a.Hash})
	}
	return out, nil
}

// Verify checks the whole audit chain (nil, or a *ChainError).
func (s *Service) Verify(ctx context.Context) (rows int, err error) {
	all, err := s.st.SecretAuditLog(ctx, store.SecretOwner{})
	if err != nil {
		return 0, err
	}
	return len(all), VerifyChain(all)
}

// NameVersion is one secret of a set, as a checkpoint records it.
type NameVersion struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

// Set returns the project's secret names and versions (never values).
func (s *Service) Set(ctx context.Context, projectID string) ([]NameVersion, error) {
	list, err := s.st.Secrets(ctx, projectOwner(projectID))
	if err != nil {
		return nil, err
	}
	out := make([]NameVersion, 0, len(list))
	for _, si := range list {
		out = append(out, NameVersion{si.Name, si.Version})
	}
	return out, nil
}

// RestoreSet makes the project's secrets what set records: each named
// version current again, secrets not in it deleted. Audited per change.
func (s *Service) RestoreSet(ctx context.Context, projectID string, set []NameVersion) error {
	o := projectOwner(projectID)
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		cur, err := tx.Secrets(ctx, o)
		if err != nil {
			return err
		}
		want := map[string]int64{}
		for _, nv := range set {
			want[nv.Name] = nv.Version
		}
		have := map[string]int64{}
		for _, si := range cur {
			have[si.Name] = si.Version
		}
		names := make([]string, 0, len(want)+len(have))
		for n := range want {
			names = append(names, n)
		}
		for n := range have {
			if _, ok := want[n]; !ok {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			if want[n] == have[n] {
				continue
			}
			if want[n] > 0 {
				if _, err := tx.SecretCiphertext(ctx, o, n, want[n]); err != nil {
					return fmt.Errorf("secret %s version %d: %w", n, want[n], err)
				}
			}
			err := tx.SetSecretVersion(ctx, o, n, want[n], ActorFrom(ctx).UserID, s.now())
			if errors.Is(err, store.ErrNotFound) { // never existed here: only a version row could be missing
				return fmt.Errorf("secret %s: %w", n, err)
			}
			if err != nil {
				return err
			}
			if err := s.audit(ctx, tx, o, ActionRestore, n, fmt.Sprintf("version %d", want[n])); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.changed(ctx, projectID)
	}
	return err
}
