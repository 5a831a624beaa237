package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"ecode/internal/store"
)

// The meters. Quantities are integers in the meter's unit.
const (
	MeterAI        = "ai_tokens"      // tokens; dimension "model/kind"
	MeterAgent     = "agent_turn"     // a turn's settlement to its charge (quantity: turns)
	MeterCPU       = "compute_cpu"    // CPU-milliseconds
	MeterMemory    = "compute_memory" // GiB-milliseconds
	MeterStorage   = "storage"        // byte-days (one daily sample of bytes stored)
	MeterBandwidth = "bandwidth"      // bytes out
	// MeterDeploy is standard instance-seconds: package deploy records an
	// instance's seconds times its size's weight (a 1 vCPU / 1 GiB instance
	// is 1, small 0.5, large 2), so DeployHourMicros is a standard hour's price.
	MeterDeploy = "deployment"
)

// Meters lists the meters in display order.
var Meters = []string{MeterAI, MeterAgent, MeterCPU, MeterMemory, MeterStorage, MeterBandwidth, MeterDeploy}

// Units names each meter's quantity unit.
var Units = map[string]string{
	MeterAI: "token", MeterAgent: "turn", MeterCPU: "cpu-ms", MeterMemory: "GiB-ms",
	MeterStorage: "byte-day", MeterBandwidth: "byte", MeterDeploy: "instance-second",
}

// The complexity levels of agent work, cheapest first.
var Levels = []string{"simple", "moderate", "complex", "very_complex", "expert"}

// PriceBook is what everything costs, in integer micro-units.
type PriceBook struct {
	CPUHourMicros       int64 `json:"cpu_hour_micros"`        // per CPU-hour
	MemoryGiBHourMicros int64 `json:"memory_gib_hour_micros"` // per GiB-hour of sandbox memory
	StorageGBMonth      int64 `json:"storage_gb_month_micros"`
	BandwidthGBMicros   int64 `json:"bandwidth_gb_micros"`
	DeployHourMicros    int64 `json:"deploy_instance_hour_micros"` // per standard (1 vCPU / 1 GiB) instance-hour
	// AI tokens are priced from the model table (micros per million tokens
	// by kind) times AIMarkupPct/100.
	AIMarkupPct int64 `json:"ai_markup_pct"`
	// AgentBaseMicros is the least a simple turn costs; a level's minimum
	// is base × multiplier, its cap (the most a turn of the level can cost,
	// whatever its tokens) minimum × CapFactor.
	AgentBaseMicros int64 `json:"agent_base_micros"`
	CapFactor       int64 `json:"cap_factor"`
	// MultipliersMilli are the levels' multipliers in thousandths (2.5 → 2500).
	MultipliersMilli map[string]int64 `json:"multipliers_milli"`
}

// DefaultPriceBook is the price book before an admin edits it.
func DefaultPriceBook() PriceBook {
	return PriceBook{CPUHourMicros: 40_000, MemoryGiBHourMicros: 10_000, StorageGBMonth: 100_000, BandwidthGBMicros: 90_000,
		DeployHourMicros: 15_000, AIMarkupPct: 100, AgentBaseMicros: 250_000, CapFactor: 4,
		MultipliersMilli: map[string]int64{"simple": 1000, "moderate": 2500, "complex": 5000, "very_complex": 10000, "expert": 20000}}
}

func (p PriceBook) validate() map[string]string {
	f := map[string]string{}
	for name, v := range map[string]int64{"cpu_hour_micros": p.CPUHourMicros, "memory_gib_hour_micros": p.MemoryGiBHourMicros,
		"storage_gb_month_micros": p.StorageGBMonth, "bandwidth_gb_micros": p.BandwidthGBMicros,
		"deploy_instance_hour_micros": p.DeployHourMicros, "ai_markup_pct": p.AIMarkupPct, "agent_base_micros": p.AgentBaseMicros} {
		if v < 0 || v > 1e12 {
			f[name] = "must be between 0 and 10^12"
		}
	}
	if p.CapFactor < 1 || p.CapFactor > 100 {
		f["cap_factor"] = "must be between 1 and 100"
	}
	for _, l := range Levels {
		if m := p.MultipliersMilli[l]; m < 1 || m > 1_000_000 {
			f["multipliers_milli."+l] = "must be between 1 and 1000000"
		}
	}
	return f
}

// Plan is what an account may use each month.
type Plan struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	PriceMicros        int64   `json:"price_micros"`    // per month (shown; Stripe charges it)
	IncludedMicros     int64   `json:"included_micros"` // credits included each month
	MaxProjects        int     `json:"max_projects"`    // 0: no limit
	SandboxMemoryMiB   int     `json:"sandbox_memory_mib"`
	SandboxCPU         float64 `json:"sandbox_cpu"`                // cores a deployment's size may have; 0: no cap
	ProjectDiskMiB     int     `json:"project_disk_mib,omitempty"` // 0: the server's --project-disk
	ConcurrentRuns     int     `json:"concurrent_runs"`
	Deployments        int     `json:"deployments"`
	AgentMonthlyMicros int64   `json:"agent_monthly_cap_micros"` // 0: no cap beyond the credits
	StripePrice        string  `json:"stripe_price,omitempty"`   // the Stripe price id Checkout sells
}

// DefaultPlans are the plans before an admin edits them; "free" is the default.
func DefaultPlans() []Plan {
	return []Plan{
		{ID: "free", Name: "Free", IncludedMicros: 10_000_000, MaxProjects: 200, SandboxMemoryMiB: 1024, ConcurrentRuns: 5, Deployments: 5},
		{ID: "pro", Name: "Pro", PriceMicros: 25_000_000, IncludedMicros: 25_000_000, MaxProjects: 1000, SandboxMemoryMiB: 4096,
			ConcurrentRuns: 20, Deployments: 50},
	}
}

func (p Plan) validate() map[string]string {
	f := map[string]string{}
	if !validID(p.ID) {
		f["id"] = "must be 1-40 lowercase letters, digits, - or _"
	}
	if p.Name == "" || len(p.Name) > 80 {
		f["name"] = "must be 1-80 characters"
	}
	if p.PriceMicros < 0 || p.IncludedMicros < 0 || p.AgentMonthlyMicros < 0 {
		f["price_micros"] = "amounts must not be negative"
	}
	for field, v := range map[string]int{"max_projects": p.MaxProjects, "concurrent_runs": p.ConcurrentRuns,
		"deployments": p.Deployments, "sandbox_memory_mib": p.SandboxMemoryMiB, "project_disk_mib": p.ProjectDiskMiB} {
		if v < 0 {
			f[field] = "must not be negative"
		}
	}
	if p.SandboxCPU < 0 || p.SandboxCPU > 1024 {
		f["sandbox_cpu"] = "must be 0 (no cap) or a number of cores up to 1024"
	}
	if p.SandboxMemoryMiB > 0 && p.SandboxMemoryMiB < 64 {
		f["sandbox_memory_mib"] = "must be 0 (the server's) or at least 64"
	}
	if p.ProjectDiskMiB > 0 && p.ProjectDiskMiB < 8 {
		f["project_disk_mib"] = "must be 0 (the server's) or at least 8"
	}
	return f
}

func validID(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

const (
	priceBookKey = "billing_price_book"
	plansKey     = "billing_plans"
)

// PriceBook returns the current price book.
func (s *Service) PriceBook(ctx context.Context) (PriceBook, error) {
	pb := DefaultPriceBook()
	return pb, s.loadSetting(ctx, priceBookKey, &pb)
}

// SetPriceBook validates and stores the price book.
func (s *Service) SetPriceBook(ctx context.Context, pb PriceBook) error {
	if f := pb.validate(); len(f) > 0 {
		return &InvalidError{Fields: f}
	}
	return s.saveSetting(ctx, priceBookKey, pb)
}

// Plans returns the plans, sorted by id.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	plans := DefaultPlans()
	if err := s.loadSetting(ctx, plansKey, &plans); err != nil {
		return nil, err
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].ID < plans[j].ID })
	return plans, nil
}

// PutPlan adds or replaces a plan.
func (s *Service) PutPlan(ctx context.Context, p Plan) error {
	if f := p.validate(); len(f) > 0 {
		return &InvalidError{Fields: f}
	}
	plans, err := s.Plans(ctx)
	if err != nil {
		return err
	}
	out := []Plan{p}
	for _, q := range plans {
		if q.ID != p.ID {
			out = append(out, q)
		}
	}
	return s.saveSetting(ctx, plansKey, out)
}

// plan finds a plan by id; the default plan for "" or an unknown id.
func (s *Service) plan(ctx context.Context, id string) (Plan, error) {
	plans, err := s.Plans(ctx)
	if err != nil {
		return Plan{}, err
	}
	if id == "" {
		id = s.opts.DefaultPlan
	}
	for _, p := range plans {
		if p.ID == id {
			return p, nil
		}
	}
	for _, p := range plans {
		if p.ID == s.opts.DefaultPlan {
			return p, nil
		}
	}
	return Plan{ID: id, Name: id}, nil
}

func (s *Service) loadSetting(ctx context.Context, key string, v any) error {
	raw, err := s.st.Setting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("setting %s: %w", key, err)
	}
	return nil
}

func (s *Service) saveSetting(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.st.SetSetting(ctx, key, string(b))
}

// InvalidError reports invalid fields of an admin's input.
type InvalidError struct{ Fields map[string]string }

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid billing input: %v", e.Fields) }
