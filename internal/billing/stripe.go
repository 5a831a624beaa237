package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v82"
)

// StripeOptions connect billing to Stripe. Without an APIKey billing runs
// in credits-only mode: admins grant credits and assign plans.
type StripeOptions struct {
	APIKey        string
	WebhookSecret string // signs the events POSTed to /api/stripe/webhook
	APIURL        string // e.g. stripe-mock's; empty for Stripe's own
	// MeterEvent is the event name of the Stripe billing meter usage is
	// reported to (value: micro-units of money charged in the ledger).
	MeterEvent string
	// Packs are the credit packs Checkout sells (plans carry their own price ids).
	Packs      []CreditPack
	HTTPClient *http.Client
}

// CreditPack is credits sold for a Stripe price.
type CreditPack struct {
	ID           string `json:"id"`
	Price        string `json:"-"` // the Stripe price id
	CreditMicros int64  `json:"credit_micros"`
}

// ParseCreditPacks parses "id=price_id:credit_micros,..." (the
// --stripe-credit-packs option).
func ParseCreditPacks(s string) ([]CreditPack, error) {
	var out []CreditPack
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, rest, ok := strings.Cut(item, "=")
		price, credits, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || !validID(id) || price == "" || strings.ContainsAny(price, " :=") {
			return nil, fmt.Errorf("credit pack %q: want id=price_id:credit_micros", item)
		}
		n, err := strconv.ParseInt(credits, 10, 64)
		if err != nil || n <= 0 || n > 1e12 {
			return nil, fmt.Errorf("credit pack %q: credit_micros must be a whole number between 1 and 10^12", item)
		}
		if seen[id] {
			return nil, fmt.Errorf("credit pack %q: id %s given twice", item, id)
		}
		seen[id] = true
		out = append(out, CreditPack{ID: id, Price: price, CreditMicros: n})
	}
	return out, nil
}

// ErrCreditsOnly answers a Stripe request when Stripe is not configured.
var ErrCreditsOnly = errors.New("billing runs in credits-only mode: ask an admin for credits or a plan")

// newStripe makes the Stripe client of the options (nil without a key).
func newStripe(o StripeOptions) *stripe.Client {
	if o.APIKey == "" {
		return nil
	}
	cfg := &stripe.BackendConfig{HTTPClient: o.HTTPClient, MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if o.APIURL != "" {
		cfg.URL = stripe.String(strings.TrimRight(o.APIURL, "/"))
	}
	return stripe.NewClient(o.APIKey, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

// StripeEnabled says whether Checkout and usage reporting go to Stripe.
func (s *Service) StripeEnabled() bool { return s.sc != nil }

// Offers are what the Usage page can buy through Checkout.
type Offers struct {
	Plans []Plan       `json:"plans"`
	Packs []CreditPack `json:"packs"`
}

// offers lists the plans with a Stripe price and the credit packs.
func (s *Service) offers(ctx context.Context) (*Offers, error) {
	if s.sc == nil {
		return nil, nil
	}
	plans, err := s.Plans(ctx)
	if err != nil {
		return nil, err
	}
	o := &Offers{Plans: []Plan{}, Packs: append([]CreditPack{}, s.opts.Stripe.Packs...)}
	for _, p := range plans {
		if p.StripePrice != "" {
			o.Plans = append(o.Plans, p)
		}
	}
	return o, nil
}

// customer returns the account's Stripe customer, creating it the first
// time (the idempotency key keeps two concurrent first times to one).
func (s *Service) customer(ctx context.Context, accountID, email string) (string, error) {
	acct, err := s.st.BillingAccount(ctx, accountID)
	if err != nil {
		return "", err
	}
	if acct.StripeCustomer != "" {
		return acct.StripeCustomer, nil
	}
	p := &stripe.CustomerCreateParams{Email: stripe.String(email), Metadata: map[string]string{"account_id": accountID}}
	p.SetIdempotencyKey("ecode-customer-" + accountID)
	c, err := s.sc.V1Customers.Create(ctx, p)
	if err != nil {
		return "", fmt.Errorf("stripe customer: %w", err)
	}
	plan := acct.Plan
	if plan == "" {
		plan = s.opts.DefaultPlan
	}
	if err := s.st.SetStripeCustomer(ctx, accountID, c.ID, plan, s.opts.Now()); err != nil {
		return "", err
	}
	return c.ID, nil
}

// CheckoutRequest is what a user buys: a plan or a credit pack.
type CheckoutRequest struct {
	AccountID, Email string
	Plan, Pack       string // exactly one
	ReturnURL        string // where Stripe sends the user back (the Usage page)
}

// Checkout creates a Stripe Checkout session for a plan (a subscription)
// or a credit pack (a payment) and returns the URL to send the user to.
// The plan or credits are applied when Stripe's webhook confirms.
func (s *Service) Checkout(ctx context.Context, r CheckoutRequest) (string, error) {
	if s.sc == nil {
		return "", ErrCreditsOnly
	}
	meta := map[string]string{"account_id": r.AccountID}
	var params *stripe.CheckoutSessionCreateParams
	switch {
	case r.Plan != "" && r.Pack == "":
		offers, err := s.offers(ctx)
		if err != nil {
			return "", err
		}
		var plan *Plan
		for i := range offers.Plans {
			if offers.Plans[i].ID == r.Plan {
				plan = &offers.Plans[i]
			}
		}
		if plan == nil {
			return "", &InvalidError{Fields: map[string]string{"plan": "no such plan for sale"}}
		}
		meta["kind"], meta["plan"] = "plan", plan.ID
		params = &stripe.CheckoutSessionCreateParams{Mode: stripe.String("subscription"),
			LineItems:        []*stripe.CheckoutSessionCreateLineItemParams{{Price: stripe.String(plan.StripePrice), Quantity: stripe.Int64(1)}},
			SubscriptionData: &stripe.CheckoutSessionCreateSubscriptionDataParams{Metadata: meta}}
	case r.Pack != "" && r.Plan == "":
		var pack *CreditPack
		for i := range s.opts.Stripe.Packs {
			if s.opts.Stripe.Packs[i].ID == r.Pack {
				pack = &s.opts.Stripe.Packs[i]
			}
		}
		if pack == nil {
			return "", &InvalidError{Fields: map[string]string{"pack": "no such credit pack"}}
		}
		meta["kind"], meta["pack"], meta["credit_micros"] = "pack", pack.ID, strconv.FormatInt(pack.CreditMicros, 10)
		params = &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"),
			LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{Price: stripe.String(pack.Price), Quantity: stripe.Int64(1)}}}
	default:
		return "", &InvalidError{Fields: map[string]string{"plan": "give a plan or a pack"}}
	}
	cust, err := s.customer(ctx, r.AccountID, r.Email)
	if err != nil {
		return "", err
	}
	params.Customer = stripe.String(cust)
	params.ClientReferenceID = stripe.String(r.AccountID)
	params.Metadata = meta
	params.SuccessURL = stripe.String(r.ReturnURL + "?checkout=success")
	params.CancelURL = stripe.String(r.ReturnURL + "?checkout=cancelled")
	sess, err := s.sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", fmt.Errorf("stripe checkout: %w", err)
	}
	return sess.URL, nil
}
