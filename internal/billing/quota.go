package billing

import (
	"context"
	"fmt"
	"time"
)

// Balance is an account's money this month.
type Balance struct {
	Plan           Plan   `json:"plan"`
	Month          string `json:"month"`
	IncludedMicros int64  `json:"included_micros"` // the plan's credits this month
	CreditMicros   int64  `json:"balance_micros"`  // granted and bought credits left after earlier months
	UsedMicros     int64  `json:"used_micros"`     // charged this month
	LeftMicros     int64  `json:"left_micros"`     // included + balance − used
	AgentMicros    int64  `json:"agent_micros"`    // agent work charged this month (AI tokens + settlements)
	Warning        bool   `json:"warning"`         // 80% or more of what was available is used
}

// Balance computes the account's balance in month (YYYY-MM; "" for now).
// Each month's usage spends the plan's included credits first, then the
// account's credits; what earlier months took from the credits is gone.
func (s *Service) Balance(ctx context.Context, accountID, month string) (Balance, error) {
	if month == "" {
		month = s.opts.Now().UTC().Format("2006-01")
	}
	acct, err := s.st.BillingAccount(ctx, accountID)
	if err != nil {
		return Balance{}, err
	}
	plan, err := s.plan(ctx, acct.Plan)
	if err != nil {
		return Balance{}, err
	}
	totals, err := s.st.LedgerMonthTotals(ctx, accountID, "")
	if err != nil {
		return Balance{}, err
	}
	credits, err := s.st.CreditTotal(ctx, accountID)
	if err != nil {
		return Balance{}, err
	}
	for m, used := range totals {
		if m < month && used > plan.IncludedMicros {
			credits -= used - plan.IncludedMicros
		}
	}
	b := Balance{Plan: plan, Month: month, IncludedMicros: plan.IncludedMicros, CreditMicros: credits, UsedMicros: totals[month]}
	b.LeftMicros = b.IncludedMicros + b.CreditMicros - b.UsedMicros
	avail := b.IncludedMicros + max(b.CreditMicros, 0)
	b.Warning = avail > 0 && b.UsedMicros*5 >= avail*4 || avail <= 0 && b.UsedMicros > 0
	if agent, err := s.st.LedgerMonthTotals(ctx, accountID, MeterAI); err == nil {
		b.AgentMicros = agent[month]
	}
	if agent, err := s.st.LedgerMonthTotals(ctx, accountID, MeterAgent); err == nil {
		b.AgentMicros += agent[month]
	}
	return b, nil
}

// QuotaError refuses work an account's plan or credits do not allow. The
// API answers it 402 with Code.
type QuotaError struct {
	Code    string // quota_credits | quota_agent | quota_projects
	What    string // agent | run | exec | deploy | project
	Message string
	Link    string // where to top up or upgrade
}

func (e *QuotaError) Error() string { return e.Message }

// What Allow checks.
const (
	WorkAgent   = "agent"
	WorkRun     = "run"
	WorkExec    = "exec"
	WorkDeploy  = "deploy"
	WorkProject = "project"
)

// Allow says whether userID may start what (agent, run, exec, deploy,
// project): nil, or a *QuotaError saying which limit is reached.
func (s *Service) Allow(ctx context.Context, userID, what string) error {
	if what == WorkProject {
		return s.allowProject(ctx, userID)
	}
	b, err := s.Balance(ctx, userID, "")
	if err != nil {
		return err
	}
	if b.LeftMicros <= 0 {
		return &QuotaError{Code: "quota_credits", What: what, Link: s.opts.TopUpURL,
			Message: fmt.Sprintf("your credits for %s are used up (plan %s): top up or upgrade to continue", b.Month, b.Plan.Name)}
	}
	if what == WorkAgent && b.Plan.AgentMonthlyMicros > 0 && b.AgentMicros >= b.Plan.AgentMonthlyMicros {
		return &QuotaError{Code: "quota_agent", What: what, Link: s.opts.TopUpURL,
			Message: fmt.Sprintf("the agent's monthly limit of plan %s is reached: upgrade to continue", b.Plan.Name)}
	}
	return nil
}

func (s *Service) allowProject(ctx context.Context, userID string) error {
	acct, err := s.st.BillingAccount(ctx, userID)
	if err != nil {
		return err
	}
	plan, err := s.plan(ctx, acct.Plan)
	if err != nil || plan.MaxProjects == 0 {
		return err
	}
	n, err := s.st.CountOwnedProjects(ctx, userID)
	if err != nil {
		return err
	}
	if n >= plan.MaxProjects {
		return &QuotaError{Code: "quota_projects", What: WorkProject, Link: s.opts.TopUpURL,
			Message: fmt.Sprintf("plan %s allows %d projects: delete one or upgrade", plan.Name, plan.MaxProjects)}
	}
	return nil
}

// afterUsage checks an account that was just charged: with its credits
// gone, its running work is stopped (see Run); from 80%, it is warned.
func (s *Service) afterUsage(ctx context.Context, accountID string) {
	b, err := s.Balance(ctx, accountID, "")
	if err != nil {
		return
	}
	if b.LeftMicros <= 0 {
		select {
		case s.exhausted <- accountID:
		default: // Run is behind: the account's next usage asks again
		}
	}
	s.maybeWarn(ctx, accountID, b)
}

// maybeWarn tells the account once a month when 80% of its credits are used.
func (s *Service) maybeWarn(ctx context.Context, accountID string, b Balance) {
	if s.opts.Notify == nil || !b.Warning {
		return
	}
	key := "billing_warned:" + accountID + ":" + b.Month
	first := false
	if _, err := s.st.SettingOrInit(ctx, key, func() string { first = true; return s.opts.Now().UTC().Format(time.RFC3339) }); err != nil || !first {
		return
	}
	s.opts.Notify(ctx, accountID, "billing_warning", "80% of your credits are used",
		fmt.Sprintf("You have used %s of %s this month.", FormatMicros(b.UsedMicros), FormatMicros(b.IncludedMicros+max(b.CreditMicros, 0))),
		s.opts.TopUpURL)
}

// FormatMicros formats money as dollars with two to six decimals ("$1.25").
func FormatMicros(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	cents := (m + 5000) / 10000
	return fmt.Sprintf("%s$%d.%02d", sign, cents/100, cents%100)
}
