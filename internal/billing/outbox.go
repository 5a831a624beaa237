package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// ReportJob is the job that reports the outbox's usage to Stripe (the
// queue runs it periodically while Stripe is configured).
type ReportJob struct{}

// Kind names the job.
func (ReportJob) Kind() string { return "stripe_usage_report" }

// ReportUsage sends the outbox's unreported usage to Stripe's billing
// meter, oldest first, and marks each row reported once Stripe has it. A
// row's id is both the meter event's identifier and the request's
// idempotency key, so a row sent again after a crash (sent, not yet
// marked) is counted once by Stripe. A row Stripe refuses stays pending
// and is tried again at the next run; the rows after it are still sent.
// It returns how many rows it reported.
func (s *Service) ReportUsage(ctx context.Context) (int, error) {
	if s.sc == nil {
		return 0, nil
	}
	sent := 0
	for {
		var failed []error
		rows, err := s.st.PendingOutbox(ctx, 100)
		if err != nil || len(rows) == 0 {
			return sent, err
		}
		for _, r := range rows {
			// Stripe takes events of the last 35 days: older usage (Stripe
			// unreachable for a month) is reported as of 34 days ago.
			at := max(r.CreatedAt.Unix(), s.opts.Now().Add(-34*24*time.Hour).Unix())
			p := &stripe.BillingMeterEventCreateParams{EventName: stripe.String(r.EventName), Identifier: stripe.String(r.ID),
				Payload:   map[string]string{"stripe_customer_id": r.Customer, "value": strconv.FormatInt(r.Value, 10)},
				Timestamp: stripe.Int64(at)}
			p.SetIdempotencyKey(r.ID)
			if _, err := s.sc.V1BillingMeterEvents.Create(ctx, p); err != nil {
				if ctx.Err() != nil {
					return sent, fmt.Errorf("report usage %s: %w", r.ID, err)
				}
				// a row Stripe refuses stays pending (retried next run)
				// without holding back the rows after it
				failed = append(failed, fmt.Errorf("report usage %s: %w", r.ID, err))
				continue
			}
			if err := s.st.MarkOutboxReported(ctx, r.ID, s.opts.Now()); err != nil {
				return sent, err
			}
			sent++
		}
		if len(failed) > 0 {
			return sent, errors.Join(failed...)
		}
	}
}
