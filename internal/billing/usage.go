package billing

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"ecode/internal/store"
)

// MeterLine is one meter's month (or one project's meter).
type MeterLine struct {
	Meter        string `json:"meter"`
	Quantity     int64  `json:"quantity"`
	Unit         string `json:"unit"`
	AmountMicros int64  `json:"amount_micros"`
}

// ProjectLine is one project's month.
type ProjectLine struct {
	ProjectID    string      `json:"project_id"`
	Name         string      `json:"name,omitempty"`
	AmountMicros int64       `json:"amount_micros"`
	Meters       []MeterLine `json:"meters"`
}

// DayLine is one day's amounts by meter.
type DayLine struct {
	Day          string           `json:"day"`
	AmountMicros int64            `json:"amount_micros"`
	Meters       map[string]int64 `json:"meters"`
}

// Usage is an account's month: the answer of GET /api/usage.
type Usage struct {
	Month       string        `json:"month"`
	Meters      []MeterLine   `json:"meters"`
	TotalMicros int64         `json:"total_micros"`
	Projects    []ProjectLine `json:"projects"`
	Days        []DayLine     `json:"days"`
	// Checkout lists what Stripe Checkout sells (absent in credits-only mode).
	Checkout *Offers `json:"checkout,omitempty"`
	Balance
}

// MonthRange returns the first and last day of month (YYYY-MM).
func MonthRange(month string) (from, to string, err error) {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		return "", "", fmt.Errorf("month must be YYYY-MM")
	}
	return t.Format("2006-01-02"), t.AddDate(0, 1, -1).Format("2006-01-02"), nil
}

// Usage reports accountID's month from the rollups.
func (s *Service) Usage(ctx context.Context, accountID, month string) (Usage, error) {
	if month == "" {
		month = s.opts.Now().UTC().Format("2006-01")
	}
	from, to, err := MonthRange(month)
	if err != nil {
		return Usage{}, err
	}
	rolls, err := s.st.LedgerRollups(ctx, accountID, from, to)
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Month: month}
	if u.Balance, err = s.Balance(ctx, accountID, month); err != nil {
		return Usage{}, err
	}
	u.Meters, u.Projects, u.Days, u.TotalMicros = summarize(rolls)
	if u.Checkout, err = s.offers(ctx); err != nil {
		return Usage{}, err
	}
	return u, nil
}

// summarize groups rollups by meter, by project (and meter) and by day.
func summarize(rolls []store.LedgerRollup) ([]MeterLine, []ProjectLine, []DayLine, int64) {
	meters := map[string]*MeterLine{}
	projects := map[string]*ProjectLine{}
	projMeters := map[string]map[string]*MeterLine{}
	days := map[string]*DayLine{}
	var total int64
	line := func(m map[string]*MeterLine, meter string) *MeterLine {
		if m[meter] == nil {
			m[meter] = &MeterLine{Meter: meter, Unit: Units[meter]}
		}
		return m[meter]
	}
	for _, r := range rolls {
		total += r.AmountMicros
		ml := line(meters, r.Meter)
		ml.Quantity += r.Quantity
		ml.AmountMicros += r.AmountMicros
		if projects[r.ProjectID] == nil {
			projects[r.ProjectID] = &ProjectLine{ProjectID: r.ProjectID}
			projMeters[r.ProjectID] = map[string]*MeterLine{}
		}
		projects[r.ProjectID].AmountMicros += r.AmountMicros
		pl := line(projMeters[r.ProjectID], r.Meter)
		pl.Quantity += r.Quantity
		pl.AmountMicros += r.AmountMicros
		if days[r.Day] == nil {
			days[r.Day] = &DayLine{Day: r.Day, Meters: map[string]int64{}}
		}
		days[r.Day].AmountMicros += r.AmountMicros
		days[r.Day].Meters[r.Meter] += r.AmountMicros
	}
	ordered := func(m map[string]*MeterLine) []MeterLine {
		out := []MeterLine{}
		for _, name := range Meters {
			if l := m[name]; l != nil {
				out = append(out, *l)
			}
		}
		return out
	}
	outP := []ProjectLine{}
	for id, p := range projects {
		p.Meters = ordered(projMeters[id])
		outP = append(outP, *p)
	}
	sort.Slice(outP, func(i, j int) bool { return outP[i].AmountMicros > outP[j].AmountMicros })
	outD := []DayLine{}
	for _, d := range days {
		outD = append(outD, *d)
	}
	sort.Slice(outD, func(i, j int) bool { return outD[i].Day < outD[j].Day })
	return ordered(meters), outP, outD, total
}

// WriteStatement writes the month's statement as CSV: one line per project
// and meter, then the total (which equals the sum of the month's ledger entries).
func (s *Service) WriteStatement(ctx context.Context, w io.Writer, accountID, month string, names map[string]string) error {
	u, err := s.Usage(ctx, accountID, month)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"month", "project_id", "project", "meter", "quantity", "unit", "amount_micros", "amount"})
	for _, p := range u.Projects {
		for _, m := range p.Meters {
			cw.Write([]string{u.Month, p.ProjectID, names[p.ProjectID], m.Meter, strconv.FormatInt(m.Quantity, 10), m.Unit,
				strconv.FormatInt(m.AmountMicros, 10), FormatMicros(m.AmountMicros)})
		}
	}
	cw.Write([]string{u.Month, "", "", "total", "", "", strconv.FormatInt(u.TotalMicros, 10), FormatMicros(u.TotalMicros)})
	cw.Flush()
	return cw.Error()
}

// AccountUsage is one account's month for the admin's overview.
type AccountUsage struct {
	AccountID   string `json:"account_id"`
	TotalMicros int64  `json:"total_micros"`
	Events      int64  `json:"events"`
}

// AllUsage sums every account's month (admins).
func (s *Service) AllUsage(ctx context.Context, month string) ([]AccountUsage, error) {
	from, to, err := MonthRange(month)
	if err != nil {
		return nil, err
	}
	rolls, err := s.st.LedgerRollups(ctx, "", from, to)
	if err != nil {
		return nil, err
	}
	by := map[string]*AccountUsage{}
	for _, r := range rolls {
		if by[r.AccountID] == nil {
			by[r.AccountID] = &AccountUsage{AccountID: r.AccountID}
		}
		by[r.AccountID].TotalMicros += r.AmountMicros
		by[r.AccountID].Events += r.Events
	}
	out := []AccountUsage{}
	for _, a := range by {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TotalMicros > out[j].TotalMicros })
	return out, nil
}

// Grant adds credits to an account (negative to take some back); key makes it idempotent.
func (s *Service) Grant(ctx context.Context, accountID string, amount int64, reason, actor, key string) error {
	if key == "" {
		key = "grant:" + newID()
	}
	_, err := s.st.AddCredit(ctx, store.Credit{ID: newID(), IdempotencyKey: key, AccountID: accountID, AmountMicros: amount,
		Reason: reason, Actor: actor, CreatedAt: s.opts.Now()})
	return err
}

// AssignPlan sets an account's plan (admins).
func (s *Service) AssignPlan(ctx context.Context, accountID, planID string) error {
	plans, err := s.Plans(ctx)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if p.ID == planID {
			_, err := s.st.SetBillingPlan(ctx, accountID, planID, 0, s.opts.Now())
			return err
		}
	}
	return &InvalidError{Fields: map[string]string{"plan": "no such plan"}}
}
