package billing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecode/internal/billing"
	"ecode/internal/billing/paytest"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

const whsec = "whsec_test_secret"

// stripeSetup is setup with Stripe (stripe-mock behind the recording proxy).
func stripeSetup(t *testing.T, st *store.Store, mock *paytest.Mock) *billing.Service {
	t.Helper()
	setup(t, st)
	svc := billing.New(st, billing.Options{Now: func() time.Time { return t0 },
		Stripe: billing.StripeOptions{APIKey: "sk_test_123", WebhookSecret: whsec, APIURL: mock.URL,
			Packs: []billing.CreditPack{{ID: "ten", Price: "price_ten", CreditMicros: 10_000_000}}}})
	ctx := context.Background()
	if err := svc.PutPlan(ctx, billing.Plan{ID: "pro", Name: "Pro", IncludedMicros: 25_000_000, StripePrice: "price_pro"}); err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestParseCreditPacks(t *testing.T) {
	got, err := billing.ParseCreditPacks(" ten=price_1:10000000, fifty=price_2:50000000 ")
	if err != nil || len(got) != 2 || got[1] != (billing.CreditPack{ID: "fifty", Price: "price_2", CreditMicros: 50_000_000}) {
		t.Fatalf("ParseCreditPacks = %+v, %v", got, err)
	}
	for _, bad := range []string{"ten", "ten=price", "ten=:5", "ten=p:0", "ten=p:-1", "ten=p:x", "Ten=p:5", "a=p:1,a=q:2", "a=p q:1"} {
		if _, err := billing.ParseCreditPacks(bad); err == nil {
			t.Errorf("ParseCreditPacks(%q) accepted", bad)
		}
	}
}

func FuzzParseCreditPacks(f *testing.F) {
	f.Add("ten=price_1:10000000,fifty=price_2:50000000")
	f.Add("=:,")
	f.Fuzz(func(t *testing.T, s string) {
		packs, err := billing.ParseCreditPacks(s)
		if err != nil {
			return
		}
		for _, p := range packs {
			if p.ID == "" || p.Price == "" || p.CreditMicros <= 0 {
				t.Fatalf("accepted %q as %+v", s, p)
			}
		}
	})
}

// Checkout against stripe-mock: a customer is made once per account, and
// the session sells the plan's or the pack's price.
func TestCheckoutAgainstStripeMock(t *testing.T) {
	mock := paytest.Start(t)
	st := testutil.NewStore(t, store.SQLite)
	svc := stripeSetup(t, st, mock)
	ctx := context.Background()
	url, err := svc.Checkout(ctx, billing.CheckoutRequest{AccountID: "u1", Email: "u1@x.test", Plan: "pro", ReturnURL: "http://ide.test/usage"})
	if err != nil || !strings.HasPrefix(url, "https://") {
		t.Fatalf("Checkout(plan) = %q, %v", url, err)
	}
	if _, err := svc.Checkout(ctx, billing.CheckoutRequest{AccountID: "u1", Email: "u1@x.test", Pack: "ten", ReturnURL: "http://ide.test/usage"}); err != nil {
		t.Fatal(err)
	}
	if n := len(mock.Requests("/v1/customers")); n != 1 {
		t.Fatalf("customers created = %d, want 1", n)
	}
	acct, _ := st.BillingAccount(ctx, "u1")
	if !strings.HasPrefix(acct.StripeCustomer, "cus_") {
		t.Fatalf("stripe customer = %q", acct.StripeCustomer)
	}
	sessions := mock.Requests("/v1/checkout/sessions")
	if len(sessions) != 2 {
		t.Fatalf("sessions = %d", len(sessions))
	}
	for i, want := range []struct{ mode, price string }{{"subscription", "price_pro"}, {"payment", "price_ten"}} {
		f := sessions[i].Form
		if f.Get("mode") != want.mode || f.Get("line_items[0][price]") != want.price || f.Get("customer") != acct.StripeCustomer ||
			f.Get("metadata[account_id]") != "u1" || f.Get("success_url") != "http://ide.test/usage?checkout=success" {
			t.Fatalf("session %d form = %v", i, f)
		}
	}
	if f := sessions[1].Form; f.Get("metadata[credit_micros]") != "10000000" {
		t.Fatalf("pack session metadata = %v", f)
	}
	for _, bad := range []billing.CheckoutRequest{{AccountID: "u1", Plan: "free"}, {AccountID: "u1", Pack: "nope"}, {AccountID: "u1"}} {
		var inv *billing.InvalidError
		if _, err := svc.Checkout(ctx, bad); !errors.As(err, &inv) {
			t.Errorf("Checkout(%+v) = %v, want invalid", bad, err)
		}
	}
	credits := billing.New(st, billing.Options{})
	if _, err := credits.Checkout(ctx, billing.CheckoutRequest{AccountID: "u1", Plan: "pro"}); !errors.Is(err, billing.ErrCreditsOnly) {
		t.Fatalf("credits-only Checkout = %v", err)
	}
}

func post(t *testing.T, svc *billing.Service, body []byte) (bool, error) {
	t.Helper()
	return svc.HandleWebhook(context.Background(), body, paytest.Sign(body, whsec))
}

func subscription(status, price string) string {
	return fmt.Sprintf(`{"id":"sub_1","object":"subscription","customer":"cus_u1","status":%q,"metadata":{"account_id":"u1"},
		"items":{"object":"list","data":[{"id":"si_1","price":{"id":%q}}]}}`, status, price)
}

// Webhooks: a forged signature is refused, a replayed event applies once,
// and subscription events applied out of order end in the newest's state.
func TestWebhooks(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		mock := paytest.Start(t)
		svc := stripeSetup(t, st, mock)
		ctx := context.Background()
		if err := st.SetStripeCustomer(ctx, "u1", "cus_u1", "free", t0); err != nil {
			t.Fatal(err)
		}
		paid := paytest.Event("evt_pack", "checkout.session.completed", 100, `{"id":"cs_1","object":"checkout.session",
			"mode":"payment","payment_status":"paid","metadata":{"account_id":"u1","kind":"pack","pack":"ten","credit_micros":"10000000"}}`)
		var we *billing.WebhookError
		if _, err := svc.HandleWebhook(ctx, paid, paytest.Sign(paid, "whsec_forged")); !errors.As(err, &we) {
			t.Fatalf("forged signature: %v, want a WebhookError", err)
		}
		if _, err := svc.HandleWebhook(ctx, paid, ""); !errors.As(err, &we) {
			t.Fatalf("no signature: %v, want a WebhookError", err)
		}
		for i := range 3 {
			applied, err := post(t, svc, paid)
			if err != nil || applied != (i == 0) {
				t.Fatalf("delivery %d: applied=%v err=%v", i, applied, err)
			}
		}
		if n, _ := st.CreditTotal(ctx, "u1"); n != 10_000_000 {
			t.Fatalf("credits after a replayed purchase = %d, want 10000000", n)
		}
		// created at 200, updated (to pro) at 300, deleted at 400: delivered
		// deleted, created, updated, the plan ends as the deletion left it.
		created := paytest.Event("evt_c", "customer.subscription.created", 200, subscription("incomplete", "price_pro"))
		updated := paytest.Event("evt_u", "customer.subscription.updated", 300, subscription("active", "price_pro"))
		deleted := paytest.Event("evt_d", "customer.subscription.deleted", 400, subscription("canceled", "price_pro"))
		plan := func() string { a, _ := st.BillingAccount(ctx, "u1"); return a.Plan }
		if _, err := post(t, svc, updated); err != nil || plan() != "pro" {
			t.Fatalf("after updated: plan %q, %v", plan(), err)
		}
		if _, err := post(t, svc, created); err != nil || plan() != "pro" {
			t.Fatalf("an older event changed the plan to %q (%v)", plan(), err)
		}
		if _, err := post(t, svc, deleted); err != nil || plan() != "free" {
			t.Fatalf("after deleted: plan %q, %v", plan(), err)
		}
		if _, err := post(t, svc, paytest.Event("evt_u2", "customer.subscription.updated", 350, subscription("active", "price_pro"))); err != nil || plan() != "free" {
			t.Fatalf("a late update revived the plan: %q, %v", plan(), err)
		}
		b, err := svc.Balance(ctx, "u1", "")
		if err != nil || b.Plan.ID != "free" || b.CreditMicros != 10_000_000 {
			t.Fatalf("balance = %+v, %v", b, err)
		}
	})
}

// A crash between recording usage and reporting it reports it exactly
// once: the outbox row is written with the ledger entry; a sender that
// dies after Stripe got a row but before marking it sends that row again
// after the restart with the same idempotency key and meter event
// identifier (Stripe counts it once), and nothing else twice.
func TestUsageReportedOnceAcrossACrash(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		mock := paytest.Start(t)
		svc := stripeSetup(t, st, mock)
		ctx := context.Background()
		if err := st.SetStripeCustomer(ctx, "u1", "cus_u1", "free", t0); err != nil {
			t.Fatal(err)
		}
		rec := svc.Recorder()
		for i := range 5 {
			e := store.UsageEvent{ID: fmt.Sprint("e", i), IdempotencyKey: fmt.Sprint("k", i), ProjectID: "p1",
				Kind: "sandbox_cpu_seconds", Quantity: 90, CreatedAt: t0}
			for range 2 { // delivered twice: one ledger entry, one outbox row
				if _, err := rec.RecordUsage(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		if rep, pend, err := st.OutboxCounts(ctx); err != nil || rep != 0 || pend != 5 {
			t.Fatalf("outbox = %d reported, %d pending (%v), want 0, 5", rep, pend, err)
		}
		// The third report reaches Stripe; its answer never comes back: the process dies.
		runCtx, kill := context.WithCancel(ctx)
		release := make(chan struct{})
		n := 0
		mock.SetHold(func(r paytest.Request) {
			if strings.HasPrefix(r.Path, "/v1/billing/meter_events") {
				if n++; n == 3 {
					kill()
					<-release
				}
			}
		})
		sent, err := svc.ReportUsage(runCtx)
		close(release)
		mock.SetHold(nil)
		if err == nil || sent != 2 {
			t.Fatalf("crashed run: sent %d, err %v; want 2 and an error", sent, err)
		}
		restarted := billing.New(st, billing.Options{Now: func() time.Time { return t0 },
			Stripe: billing.StripeOptions{APIKey: "sk_test_123", APIURL: mock.URL}})
		if sent, err := restarted.ReportUsage(ctx); err != nil || sent != 3 {
			t.Fatalf("after restart: sent %d, %v; want 3", sent, err)
		}
		if sent, err := restarted.ReportUsage(ctx); err != nil || sent != 0 {
			t.Fatalf("third run: sent %d, %v; want 0", sent, err)
		}
		reqs := mock.Requests("/v1/billing/meter_events")
		byKey := map[string]int{}
		for _, r := range reqs {
			if r.IdempotencyKey == "" || r.Form.Get("identifier") != r.IdempotencyKey ||
				r.Form.Get("payload[stripe_customer_id]") != "cus_u1" || r.Form.Get("payload[value]") != "1000" {
				t.Fatalf("meter event request %+v", r)
			}
			byKey[r.IdempotencyKey]++
		}
		if len(reqs) != 6 || len(byKey) != 5 || byKey[reqs[2].IdempotencyKey] != 2 {
			t.Fatalf("requests = %d with %d keys (%v); want 6 with 5, the third one's twice", len(reqs), len(byKey), byKey)
		}
		if rep, pend, _ := st.OutboxCounts(ctx); rep != 5 || pend != 0 {
			t.Fatalf("outbox = %d reported, %d pending; want 5, 0", rep, pend)
		}
	})
}

// Whatever a signed body holds, the webhook handler answers an error or
// applies it, never panics.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(paytest.Event("evt_1", "checkout.session.completed", 1, `{"id":"cs","metadata":{"kind":"pack","account_id":"u1","credit_micros":"5"},"payment_status":"paid"}`)))
	f.Add([]byte(paytest.Event("evt_2", "customer.subscription.deleted", 2, `{"id":"sub","customer":"cus_x","status":"canceled"}`)))
	f.Add([]byte(`{"id":"evt_3","type":"customer.subscription.updated","data":{"object":[]}}`))
	f.Add([]byte(`not json`))
	st := testutil.NewStore(f, store.SQLite)
	svc := billing.New(st, billing.Options{Stripe: billing.StripeOptions{WebhookSecret: whsec}})
	f.Fuzz(func(t *testing.T, body []byte) {
		svc.HandleWebhook(context.Background(), body, paytest.Sign(body, whsec))
	})
}

// A row Stripe refuses stays pending without holding back the rows after
// it, and is sent at the next run.
func TestRefusedUsageRowDoesNotBlockTheOutbox(t *testing.T) {
	mock := paytest.Start(t)
	st := testutil.NewStore(t, store.SQLite)
	svc := stripeSetup(t, st, mock)
	ctx := context.Background()
	if err := st.SetStripeCustomer(ctx, "u1", "cus_u1", "free", t0); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := svc.Recorder().RecordUsage(ctx, store.UsageEvent{ID: fmt.Sprint("e", i), IdempotencyKey: fmt.Sprint("r", i),
			ProjectID: "p1", Kind: "sandbox_cpu_seconds", Quantity: 90, CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	first := store.OutboxID("usage:r0")
	mock.SetRefuse(func(r paytest.Request) bool { return r.IdempotencyKey == first })
	if sent, err := svc.ReportUsage(ctx); err == nil || sent != 2 {
		t.Fatalf("with the oldest row refused: sent %d, %v; want 2 and an error", sent, err)
	}
	if rep, pend, _ := st.OutboxCounts(ctx); rep != 2 || pend != 1 {
		t.Fatalf("outbox = %d reported, %d pending; want 2, 1", rep, pend)
	}
	mock.SetRefuse(nil)
	if sent, err := svc.ReportUsage(ctx); err != nil || sent != 1 {
		t.Fatalf("next run: sent %d, %v; want 1", sent, err)
	}
}
