// Package billing turns usage into money: an append-only ledger of priced
// events (integer quantities, integer micro-units of money, an idempotency
// key per event) with rollups per account, project, meter and day; the
// price book and plans; balances and quotas checked where work starts; the
// complexity classifier and quotes of agent turns; monthly statements. The
// Stripe side lives in internal/billing/stripe.go.
package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"math/bits"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"ecode/internal/store"
)

// TokenPrices are a model's prices in micro-units per million tokens.
type TokenPrices struct {
	Input, Output, CacheRead, CacheWrite int64
}

// Options configure the service. Zero fields take defaults.
type Options struct {
	DefaultPlan string // the plan of accounts without one (default "free")
	// Models prices AI tokens by model id (the longest id prefixing a model wins).
	Models map[string]TokenPrices
	Now    func() time.Time
	Log    *slog.Logger
	// Notify, when set, tells a user something (the 80% warning).
	Notify func(ctx context.Context, userID, kind, title, body, link string)
	// Classify, when set, asks a small model for a request's level with
	// the rubric (see complexity.go); its answer is one level name.
	Classify func(ctx context.Context, rubric, prompt string) (string, error)
	// TopUpURL is where a refusal sends the user (default "/usage").
	TopUpURL string
	// Stripe, when its APIKey is set, sells plans and credit packs through
	// Checkout and reports usage to a Stripe billing meter.
	Stripe StripeOptions
}

// Service is the billing service.
type Service struct {
	st   *store.Store
	opts Options
	sc   *stripe.Client // nil: credits-only
	// exhausted receives accounts whose credits ran out (see Run).
	exhausted chan string
}

// New builds the service.
func New(st *store.Store, opts Options) *Service {
	if opts.DefaultPlan == "" {
		opts.DefaultPlan = "free"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.TopUpURL == "" {
		opts.TopUpURL = "/usage"
	}
	if opts.Stripe.MeterEvent == "" {
		opts.Stripe.MeterEvent = "ecode_usage"
	}
	return &Service{st: st, opts: opts, sc: newStripe(opts.Stripe), exhausted: make(chan string, 64)}
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// day is the ledger day (UTC) of t.
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// mulDiv is a×b/d rounded half up, for non-negative a, b and positive d,
// without overflowing on the 128-bit product (saturating if the result does
// not fit).
func mulDiv(a, b, d int64) int64 {
	if a <= 0 || b <= 0 || d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	lo2, carry := bits.Add64(lo, uint64(d/2), 0)
	hi += carry
	if hi >= uint64(d) {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo2, uint64(d))
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}

// prices returns the token prices of model (longest prefix match).
func (s *Service) prices(model string) TokenPrices {
	if p, ok := s.opts.Models[model]; ok {
		return p
	}
	best, bestLen := TokenPrices{}, 0
	for id, p := range s.opts.Models {
		if strings.HasPrefix(model, id) && len(id) > bestLen {
			best, bestLen = p, len(id)
		}
	}
	return best
}

// append records entries (with Stripe, the usage to report in the same
// transaction) and then checks the accounts they touched for the 80% warning.
func (s *Service) append(ctx context.Context, entries []store.LedgerEntry) (int, error) {
	n, err := s.st.AppendLedgerReported(ctx, entries, s.meterEvent())
	if err != nil || n == 0 {
		return n, err
	}
	s.afterAppend(ctx, entries)
	return n, nil
}

// meterEvent is the Stripe meter new usage is reported to ("" without Stripe).
func (s *Service) meterEvent() string {
	if s.sc == nil {
		return ""
	}
	return s.opts.Stripe.MeterEvent
}

// afterAppend checks once each account that entries charged (afterUsage).
func (s *Service) afterAppend(ctx context.Context, entries []store.LedgerEntry) {
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.AccountID] {
			seen[e.AccountID] = true
			s.afterUsage(ctx, e.AccountID)
		}
	}
}
