package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"ecode/internal/billing"
	"ecode/internal/billing/paytest"
	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const testWebhookSecret = "whsec_api_test"

// Stripe through the API: the Usage page's offers, Checkout against
// stripe-mock, the webhook (forged signature 400, replay applied once, the
// plan follows), and the queue's job reporting usage to the meter.
func TestStripeCheckoutWebhookAndReporting(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mock := paytest.Start(t)
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			c.StripeAPIKey, c.StripeWebhookSecret, c.StripeAPIURL = "sk_test_123", testWebhookSecret, mock.URL
			c.StripeCreditPacks = "ten=price_ten:10000000"
		}})
		c := client.New(srv.URL)
		me, err := c.Signup(ctx, "admin@x.test", "correct horse battery", "Admin")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Do(ctx, "PUT", "/api/admin/billing/plans/pro", strings.NewReader(`{"name":"Pro","included_micros":25000000,
			"stripe_price":"price_pro"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		var u struct {
			Plan     struct{ ID string } `json:"plan"`
			Checkout struct {
				Plans []struct{ ID string } `json:"plans"`
				Packs []struct {
					ID           string `json:"id"`
					CreditMicros int64  `json:"credit_micros"`
				} `json:"packs"`
			} `json:"checkout"`
		}
		if err := c.Do(ctx, "GET", "/api/usage", nil, "", &u); err != nil || len(u.Checkout.Plans) != 1 || u.Checkout.Plans[0].ID != "pro" ||
			len(u.Checkout.Packs) != 1 || u.Checkout.Packs[0].CreditMicros != 10_000_000 {
			t.Fatalf("usage offers = %+v (%v)", u, err)
		}
		var out struct{ URL string }
		if err := c.Do(ctx, "POST", "/api/usage/checkout", strings.NewReader(`{"plan":"pro"}`), "application/json", &out); err != nil ||
			!strings.HasPrefix(out.URL, "https://checkout.stripe.com/") {
			t.Fatalf("checkout = %+v, %v", out, err)
		}
		var ce *client.Error
		if err := c.Do(ctx, "POST", "/api/usage/checkout", strings.NewReader(`{"plan":"pro","pack":"ten"}`), "application/json", nil); !errors.As(err, &ce) || ce.Status != 400 {
			t.Fatalf("plan and pack at once: %v", err)
		}
		acct, err := st.BillingAccount(ctx, me.ID)
		if err != nil || acct.StripeCustomer == "" {
			t.Fatalf("no Stripe customer after Checkout: %+v %v", acct, err)
		}
		ev := paytest.Event("evt_api_1", "customer.subscription.created", time.Now().Unix(), fmt.Sprintf(
			`{"id":"sub_1","object":"subscription","customer":%q,"status":"active","items":{"object":"list","data":[{"id":"si_1","price":{"id":"price_pro"}}]}}`,
			acct.StripeCustomer))
		hook := func(sig string) (int, string) {
			req, _ := http.NewRequest("POST", srv.URL+"/api/stripe/webhook", bytes.NewReader(ev))
			req.Header.Set("Stripe-Signature", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String()
		}
		if code, body := hook(paytest.Sign(ev, "whsec_forged")); code != 400 || !strings.Contains(body, "bad_signature") {
			t.Fatalf("forged webhook: %d %s", code, body)
		}
		if code, body := hook(paytest.Sign(ev, testWebhookSecret)); code != 200 || !strings.Contains(body, `"applied":true`) {
			t.Fatalf("webhook: %d %s", code, body)
		}
		if code, body := hook(paytest.Sign(ev, testWebhookSecret)); code != 200 || !strings.Contains(body, `"applied":false`) {
			t.Fatalf("replayed webhook: %d %s", code, body)
		}
		if err := c.Do(ctx, "GET", "/api/usage", nil, "", &u); err != nil || u.Plan.ID != "pro" {
			t.Fatalf("plan after the webhook = %+v (%v)", u.Plan, err)
		}

		// Usage of the account goes to the outbox; the queue's job reports it.
		p, err := c.CreateProject(ctx, "metered", "")
		if err != nil {
			t.Fatal(err)
		}
		reported := make(chan paytest.Request, 1)
		mock.SetHold(func(r paytest.Request) {
			if strings.HasPrefix(r.Path, "/v1/billing/meter_events") {
				select {
				case reported <- r:
				default:
				}
			}
		})
		if _, err := srv.Billing.Recorder().RecordUsage(ctx, store.UsageEvent{ID: "ev1", IdempotencyKey: "api-k1", ProjectID: p.ID,
			Kind: "sandbox_cpu_seconds", Quantity: 90, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Jobs.Enqueue(ctx, billing.ReportJob{}, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-reported:
			if r.Form.Get("payload[stripe_customer_id]") != acct.StripeCustomer || r.Form.Get("payload[value]") != "1000" ||
				r.Form.Get("event_name") != "ecode_usage" {
				t.Fatalf("meter event = %v", r.Form)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the report job sent nothing to Stripe")
		}
	})
}

// Without Stripe settings billing is credits-only: Checkout and the
// webhook answer 409 credits_only.
func TestStripeOffIsCreditsOnly(t *testing.T) {
	st := testutil.NewStore(t, store.SQLite)
	srv := testutil.NewServer(t, st)
	c := client.New(srv.URL)
	ctx := context.Background()
	if _, err := c.Signup(ctx, "a@x.test", "correct horse battery", "A"); err != nil {
		t.Fatal(err)
	}
	var ce *client.Error
	if err := c.Do(ctx, "POST", "/api/usage/checkout", strings.NewReader(`{"plan":"pro"}`), "application/json", nil); !errors.As(err, &ce) ||
		ce.Status != 409 || ce.Code != "credits_only" {
		t.Fatalf("checkout without Stripe: %v", err)
	}
	var u map[string]any
	if err := c.Do(ctx, "GET", "/api/usage", nil, "", &u); err != nil || u["checkout"] != nil {
		t.Fatalf("usage without Stripe offers %v (%v)", u["checkout"], err)
	}
}
