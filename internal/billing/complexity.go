package billing

import (
	"context"
	"regexp"
	"strings"
)

// QuoteRequest is what a quote is asked for.
type QuoteRequest struct {
	Prompt    string
	Thinking  bool
	HighPower bool
	WebSearch bool
	Level     string // the user's override ("" to classify)
}

// Quote is the price of an agent turn before it runs.
type Quote struct {
	Level           string  `json:"level"`
	Multiplier      float64 `json:"multiplier"` // display only: MultiplierMilli/1000
	MultiplierMilli int64   `json:"multiplier_milli"`
	PriceMinMicros  int64   `json:"price_min_micros"`
	PriceMaxMicros  int64   `json:"price_max_micros"`
	CapMicros       int64   `json:"cap_micros"`
	Source          string  `json:"source"` // heuristic | model | override
	Reason          string  `json:"reason,omitempty"`
}

// Rubric is the fixed instruction the small model classifies with.
const Rubric = `Classify the software request by the work an AI coding agent needs to do it.
Answer with exactly one word:
simple - a small local change: fix a typo, change a colour or text, rename something, one small bug.
moderate - a feature in one place: add a page, a form, a component, an endpoint, a test.
complex - a feature across several parts: authentication, a database schema, an API integration, payments.
very_complex - a large change: refactor or migrate many files, realtime features, multi-service work.
expert - a whole application or platform from scratch, or deep performance and architecture work.`

var levelSignals = []struct {
	level int
	re    *regexp.Regexp
}{
	{0, regexp.MustCompile(`(?i)\b(typo|colou?r|rename|wording|text|label|title|padding|margin|font|spelling|tweak)\b`)},
	{1, regexp.MustCompile(`(?i)\b(add|create|page|form|button|component|endpoint|route|test|validation|modal)\b`)},
	{2, regexp.MustCompile(`(?i)\b(auth\w*|login|sign[- ]?up|database|schema|api|integrat\w*|payment\w*|stripe|upload|email|oauth)\b`)},
	{3, regexp.MustCompile(`(?i)\b(refactor\w*|migrat\w*|real[- ]?time|websocket\w*|multi[- ]?tenant|microservices?|architecture|performance|scal\w+)\b`)},
	{4, regexp.MustCompile(`(?i)(from scratch|full[- ]stack|entire|complete (app|application|platform)|clone of|marketplace|social network|\bplatform\b)`)},
}

// Heuristic classifies a request deterministically: the strongest signal
// among keyword groups, raised one level for a long request and one for
// extended thinking or high power (at most expert).
func Heuristic(q QuoteRequest) (level, reason string) {
	lvl, why := 0, "a short, local request"
	for _, sig := range levelSignals {
		if m := sig.re.FindString(q.Prompt); m != "" && sig.level >= lvl {
			lvl, why = sig.level, "mentions "+strings.ToLower(m)
		}
	}
	if n := len(strings.Fields(q.Prompt)); n > 120 {
		lvl, why = lvl+1, why+"; a long request"
	}
	if q.HighPower || q.Thinking {
		lvl, why = lvl+1, why+"; high power or extended thinking"
	}
	return Levels[min(lvl, len(Levels)-1)], why
}

// ValidLevel reports whether l names a level.
func ValidLevel(l string) bool {
	for _, v := range Levels {
		if v == l {
			return true
		}
	}
	return false
}

// Quote prices a turn: its level (the override, else the model's answer
// when a classifier is configured and answers a level, else the heuristic),
// the level's multiplier, minimum and cap. A turn is never charged more than
// CapMicros.
func (s *Service) Quote(ctx context.Context, q QuoteRequest) (Quote, error) {
	pb, err := s.PriceBook(ctx)
	if err != nil {
		return Quote{}, err
	}
	level, source, reason := q.Level, "override", "chosen by you"
	if !ValidLevel(level) {
		level, reason = Heuristic(q)
		source = "heuristic"
		if s.opts.Classify != nil {
			if ans, err := s.opts.Classify(ctx, Rubric, q.Prompt); err == nil && ValidLevel(strings.TrimSpace(strings.ToLower(ans))) {
				level, source, reason = strings.TrimSpace(strings.ToLower(ans)), "model", "classified by the model"
			} else if err != nil {
				s.opts.Log.Warn("billing: classify with the model", "err", err)
			}
		}
	}
	return pb.quote(level, source, reason), nil
}

func (pb PriceBook) quote(level, source, reason string) Quote {
	m := pb.MultipliersMilli[level]
	if m <= 0 {
		m = 1000
	}
	minP := mulDiv(pb.AgentBaseMicros, m, 1000)
	capP := minP * max(pb.CapFactor, 1)
	return Quote{Level: level, Multiplier: float64(m) / 1000, MultiplierMilli: m, PriceMinMicros: minP, PriceMaxMicros: capP,
		CapMicros: capP, Source: source, Reason: reason}
}

// AgentCostCapMicros is the cap in the model's own cost (before the
// markup): the agent loop's money limit that keeps a turn's tokens under
// the quote's cap.
func (s *Service) AgentCostCapMicros(ctx context.Context, q Quote) (int64, error) {
	pb, err := s.PriceBook(ctx)
	if err != nil || pb.AIMarkupPct <= 0 {
		return q.CapMicros, err
	}
	return mulDiv(q.CapMicros, 100, pb.AIMarkupPct), nil
}

// SetClassifier sets the model classifier (the agent service exists after
// the billing service; both are made at start, before any request).
func (s *Service) SetClassifier(fn func(ctx context.Context, rubric, prompt string) (string, error)) {
	s.opts.Classify = fn
}
