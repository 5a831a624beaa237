package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// resize records the deployment's new size and, when it serves, replaces
// its instances with ones of that size (blue-green: the old ones serve
// until the new ones listen, then drain; meanwhile the status shows
// restarting and resizing). If they do not start the old
// size is recorded again and the old instances keep serving.
func (s *Service) resize(ctx context.Context, projectID, oldName, name string) error {
	if name == oldName || (name == SizeDefault && oldName == "") {
		return nil
	}
	if err := s.d.Store.SetDeploymentSize(ctx, projectID, name, s.d.Now()); err != nil {
		return err
	}
	d := s.live(projectID)
	if d == nil {
		return nil
	}
	d.setResizing(true)
	s.notifyChanged()
	defer func() {
		d.setResizing(false)
		s.notifyChanged()
	}()
	if _, err := s.replaceGroup(d); err != nil {
		if rerr := s.d.Store.SetDeploymentSize(ctx, projectID, oldName, s.d.Now()); rerr != nil {
			s.d.Log.Error("restore the size", "project_id", projectID, "err", rerr)
		}
		return fmt.Errorf("%w: %w", ErrScaleFailed, err)
	}
	return nil
}

func (d *deployment) setResizing(v bool) {
	d.mu.Lock()
	d.resizing = v
	d.mu.Unlock()
}
