package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ecode/internal/sandbox"
)

// Size is how big each of a deployment's sandboxes is (its instances, its
// builds and its scheduled runs): CPU and memory of its own; processes,
// /tmp and the command timeout are the server's. Weight is what an
// instance-second of the size is billed as, in standard instance-seconds
// (a 1 vCPU / 1 GiB instance's second).
type Size struct {
	Name        string  `json:"name"`
	CPU         float64 `json:"cpu"`          // cores
	MemoryBytes int64   `json:"memory_bytes"` //
	Weight      float64 `json:"weight"`       // standard instance-seconds per second
}

// Size names. SizeDefault is the server's sandbox limits (--sandbox-cpu,
// --sandbox-memory) billed as a standard instance: what deployments ran
// with before sizes, and still run with until one is chosen.
const (
	SizeDefault = "default"
	SizeSmall   = "small"
	SizeMedium  = "medium"
	SizeLarge   = "large"
)

// fixedSizes are the sizes besides the default, smallest first.
func fixedSizes() []Size {
	return []Size{
		{Name: SizeSmall, CPU: 0.5, MemoryBytes: 512 << 20, Weight: 0.5},
		{Name: SizeMedium, CPU: 1, MemoryBytes: 1 << 30, Weight: 1},
		{Name: SizeLarge, CPU: 2, MemoryBytes: 2 << 30, Weight: 2},
	}
}

// Reasons a size is refused.
var (
	ErrBadSize = errors.New("deploy: the size must be default, small, medium or large")
	// ErrSizeOverPlan wraps a size bigger than the owner's plan allows.
	ErrSizeOverPlan = errors.New("deploy: this size is bigger than your plan allows")
	// ErrSizeOverServer wraps a size bigger than this server's sandboxes get.
	ErrSizeOverServer = errors.New("deploy: this size is bigger than this server's sandboxes")
)

// SizeChoice is a size as the API lists it: its limits on this server and
// whether the project's owner may choose it.
type SizeChoice struct {
	Size
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason,omitempty"` // why not
}

// sizeNamed is the size called name ("" is the default).
func (s *Service) sizeNamed(name string) (Size, bool) {
	if name == "" || name == SizeDefault {
		return Size{Name: SizeDefault, CPU: s.opts.Limits.CPU, MemoryBytes: s.opts.Limits.MemoryBytes, Weight: 1}, true
	}
	for _, z := range fixedSizes() {
		if z.Name == name {
			return z, true
		}
	}
	return Size{}, false
}

// limits are a sandbox's limits at size z.
func (s *Service) limits(z Size) sandbox.Limits {
	l := s.opts.Limits
	l.CPU, l.MemoryBytes = z.CPU, z.MemoryBytes
	return l
}

// checkSize refuses a size that does not exist, that this server's
// sandboxes cannot get, or that the project's owner's plan does not allow.
func (s *Service) checkSize(ctx context.Context, projectID, name string) error {
	z, ok := s.sizeNamed(name)
	if !ok {
		return &SettingError{"size", ErrBadSize}
	}
	if err := s.sizeAllowed(ctx, projectID, z); err != nil {
		return &SettingError{"size", err}
	}
	return nil
}

// sizeAllowed is nil when the project's owner may run z here: within
// this server's sandboxes and the plan's memory and CPU.
func (s *Service) sizeAllowed(ctx context.Context, projectID string, z Size) error {
	if z.Name == SizeDefault {
		return nil // the server's limits (a plan lowers only development sandboxes' memory)
	}
	if l := s.opts.Limits; (l.MemoryBytes > 0 && z.MemoryBytes > l.MemoryBytes) || (l.CPU > 0 && z.CPU > l.CPU) {
		return fmt.Errorf("%w (%s: %g vCPU, %d MiB; at most %g vCPU, %d MiB here)", ErrSizeOverServer,
			z.Name, z.CPU, z.MemoryBytes>>20, l.CPU, l.MemoryBytes>>20)
	}
	if s.d.PlanMemory != nil {
		if mem := s.d.PlanMemory(ctx, projectID); mem > 0 && z.MemoryBytes > mem {
			return fmt.Errorf("%w (%s needs %d MiB, the plan allows %d MiB): choose a smaller size or upgrade", ErrSizeOverPlan,
				z.Name, z.MemoryBytes>>20, mem>>20)
		}
	}
	if s.d.PlanCPU != nil {
		if cpu := s.d.PlanCPU(ctx, projectID); cpu > 0 && z.CPU > cpu {
			return fmt.Errorf("%w (%s needs %g vCPU, the plan allows %g vCPU): choose a smaller size or upgrade", ErrSizeOverPlan,
				z.Name, z.CPU, cpu)
		}
	}
	return nil
}

// Sizes lists the sizes for the project, the default first.
func (s *Service) Sizes(ctx context.Context, projectID string) []SizeChoice {
	def, _ := s.sizeNamed(SizeDefault)
	out := []SizeChoice{{Size: def, Allowed: true}}
	for _, z := range fixedSizes() {
		c := SizeChoice{Size: z, Allowed: true}
		if err := s.sizeAllowed(ctx, projectID, z); err != nil {
			c.Allowed, c.Reason = false, trimDeploy(err.Error())
		}
		out = append(out, c)
	}
	return out
}

func trimDeploy(msg string) string { return strings.TrimPrefix(msg, "deploy: ") }

// projectSize is the size the project's deployment runs at now (the
// default when it has none or the store cannot say).
func (s *Service) projectSize(ctx context.Context, projectID string) Size {
	name := ""
	if dep, err := s.d.Store.DeploymentForProject(ctx, projectID); err == nil {
		name = dep.Size
	}
	z, ok := s.sizeNamed(name)
	if !ok {
		z, _ = s.sizeNamed(SizeDefault)
	}
	return z
}

// sandboxLimits are the limits of the project's deployment sandboxes now.
func (s *Service) sandboxLimits(ctx context.Context, projectID string) sandbox.Limits {
	return s.limits(s.projectSize(ctx, projectID))
}

// ErrResizing means a change of size is under way: the next one waits
// for its end.
var ErrResizing = errors.New("deploy: the deployment is being resized; try again once it is done")

// resize records the deployment's new size and, when it serves, starts
// replacing its instances with ones of that size in the background
// (finishResize); the status shows restarting and resizing meanwhile.
// Nothing serving (asleep, scheduled, static): the next start uses the
// new size.
func (s *Service) resize(ctx context.Context, projectID, oldName, name string) error {
	if name == oldName || (name == SizeDefault && oldName == "") {
		return nil
	}
	d := s.live(projectID)
	if d != nil {
		d.mu.Lock()
		busy, serving := d.resizing, d.active != nil && d.active.static == nil
		d.resizing = d.resizing || serving
		d.mu.Unlock()
		if busy {
			return ErrResizing
		}
		if !serving {
			d = nil
		}
	}
	if err := s.d.Store.SetDeploymentSize(ctx, projectID, name, s.d.Now()); err != nil {
		if d != nil {
			d.setResizing(false)
		}
		return err
	}
	if d == nil {
		return nil
	}
	if !s.spawn(func() { s.finishResize(d, oldName, name) }) {
		d.setResizing(false)
		return ErrProjectStopped
	}
	s.notifyChanged()
	return nil
}

// finishResize replaces the serving group with one of the new size
// (blue-green: the old instances serve until the new ones listen, then
// drain), bounded by the health timeout of the instances' start. If they
// do not start, the old size is recorded again with why (shown on every
// node) and the old instances keep serving. Stopped by the service's
// Close, it sets the old size back and records nothing.
func (s *Service) finishResize(d *deployment, oldName, name string) {
	defer func() {
		d.setResizing(false)
		s.notifyChanged()
	}()
	_, err := s.replaceGroup(d)
	switch {
	case err == nil:
	case s.ctx.Err() != nil:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.d.Store.SetDeploymentSize(ctx, d.projectID, oldName, s.d.Now()); err != nil {
			s.d.Log.Error("restore the size", "project_id", d.projectID, "err", err)
		}
	default:
		s.d.Log.Warn("resize deployment", "project_id", d.projectID, "size", name, "err", err)
		reason := fmt.Sprintf("resizing to %s: %s: %v", name, trimDeploy(ErrScaleFailed.Error()), err)
		if err := s.d.Store.SetResizeFailure(s.ctx, d.projectID, name, oldName, reason, s.d.Now()); err != nil {
			s.d.Log.Error("record the resize's failure", "project_id", d.projectID, "err", err)
		}
	}
}

// resizingNow reports whether a change of the project's size is under way.
func (s *Service) resizingNow(projectID string) bool {
	_, resizing := s.Restarting(projectID)
	return resizing
}

func (d *deployment) setResizing(v bool) {
	d.mu.Lock()
	d.resizing = v
	d.mu.Unlock()
}
