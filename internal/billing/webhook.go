package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"ecode/internal/store"
)

// WebhookError refuses a webhook delivery that is not Stripe's (a bad
// signature, a stale timestamp, a body that is not an event): 400.
type WebhookError struct{ Err error }

func (e *WebhookError) Error() string { return "stripe webhook refused: " + e.Err.Error() }

// HandleWebhook verifies a Stripe event's signature and applies it once:
// the event is recorded in stripe_events in the transaction that applies
// it, so a redelivered event changes nothing. Plans follow subscription
// events in the order Stripe created them, whatever order they arrive in;
// a paid credit-pack Checkout grants its credits. applied=false for a
// redelivery or an event E-Code does not act on.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) (applied bool, err error) {
	if s.opts.Stripe.WebhookSecret == "" {
		return false, ErrCreditsOnly
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.opts.Stripe.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return false, &WebhookError{Err: err}
	}
	if ev.ID == "" || ev.Data == nil {
		return false, &WebhookError{Err: errors.New("not an event")}
	}
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		first, err := tx.RecordStripeEvent(ctx, ev.ID, string(ev.Type), ev.Created, s.opts.Now())
		if err != nil || !first {
			return err
		}
		applied, err = s.apply(ctx, tx, ev)
		return err
	})
	if err == nil && applied {
		s.opts.Log.Info("stripe event applied", "event", ev.ID, "type", ev.Type)
	}
	return applied, err
}

// apply acts on one event inside its transaction.
func (s *Service) apply(ctx context.Context, tx *store.Store, ev stripe.Event) (bool, error) {
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return false, &WebhookError{Err: err}
		}
		return s.applyCheckout(ctx, tx, &cs)
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &sub); err != nil {
			return false, &WebhookError{Err: err}
		}
		return s.applySubscription(ctx, tx, &sub, ev)
	}
	return false, nil
}

// applyCheckout grants a paid credit pack (once per Checkout session).
func (s *Service) applyCheckout(ctx context.Context, tx *store.Store, cs *stripe.CheckoutSession) (bool, error) {
	if cs.Metadata["kind"] != "pack" || cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
		return false, nil
	}
	account := cs.Metadata["account_id"]
	credits, err := strconv.ParseInt(cs.Metadata["credit_micros"], 10, 64)
	if account == "" || err != nil || credits <= 0 {
		s.opts.Log.Warn("stripe checkout without its account or credits", "session", cs.ID)
		return false, nil
	}
	return tx.AddCredit(ctx, store.Credit{ID: newID(), IdempotencyKey: "stripe:checkout:" + cs.ID, AccountID: account,
		AmountMicros: credits, Reason: "credit pack " + cs.Metadata["pack"] + " (Stripe Checkout)", Actor: "stripe", CreatedAt: s.opts.Now()})
}

// applySubscription sets the plan a subscription event says, unless a
// later-created event already set one.
func (s *Service) applySubscription(ctx context.Context, tx *store.Store, sub *stripe.Subscription, ev stripe.Event) (bool, error) {
	account := sub.Metadata["account_id"]
	if sub.Customer != nil && sub.Customer.ID != "" {
		if id, err := tx.AccountByStripeCustomer(ctx, sub.Customer.ID); err == nil {
			account = id
		} else if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	if account == "" {
		s.opts.Log.Warn("stripe subscription of an unknown customer", "subscription", sub.ID)
		return false, nil
	}
	plan := s.opts.DefaultPlan
	live := sub.Status == stripe.SubscriptionStatusActive || sub.Status == stripe.SubscriptionStatusTrialing ||
		sub.Status == stripe.SubscriptionStatusPastDue
	if ev.Type != "customer.subscription.deleted" && live {
		id, err := s.planOfSubscription(ctx, sub)
		if err != nil {
			return false, err
		}
		if id == "" {
			s.opts.Log.Warn("stripe subscription of no known plan", "subscription", sub.ID)
			return false, nil
		}
		plan = id
	}
	applied, err := tx.SetBillingPlan(ctx, account, plan, ev.Created, s.opts.Now())
	if err != nil {
		return false, fmt.Errorf("stripe subscription: %w", err)
	}
	return applied, nil
}

// planOfSubscription finds the plan sold at one of the subscription's
// prices, else the plan its metadata names.
func (s *Service) planOfSubscription(ctx context.Context, sub *stripe.Subscription) (string, error) {
	plans, err := s.Plans(ctx)
	if err != nil {
		return "", err
	}
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			for _, p := range plans {
				if it.Price != nil && p.StripePrice != "" && it.Price.ID == p.StripePrice {
					return p.ID, nil
				}
			}
		}
	}
	for _, p := range plans {
		if p.ID == sub.Metadata["plan"] {
			return p.ID, nil
		}
	}
	return "", nil
}
