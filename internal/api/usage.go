package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"

	"ecode/internal/billing"
)

// billingRoutes are the usage, statement and admin billing routes.
func (s *Server) billingRoutes() []route {
	return []route{
		{"GET /api/usage", Signed, s.usage},
		{"GET /api/usage/statement.csv", Signed, s.usageStatement},
		{"POST /api/usage/checkout", Signed, s.usageCheckout},
		{"POST /api/stripe/webhook", Public, s.stripeWebhook},
		{"GET /api/admin/billing/price-book", Admin, s.adminPriceBook},
		{"PUT /api/admin/billing/price-book", Admin, s.putAdminPriceBook},
		{"GET /api/admin/billing/plans", Admin, s.adminPlans},
		{"PUT /api/admin/billing/plans/{plan}", Admin, s.putAdminPlan},
		{"GET /api/admin/billing/accounts", Admin, s.adminBillingAccounts},
		{"PUT /api/admin/billing/accounts/{uid}/plan", Admin, s.adminAssignPlan},
		{"POST /api/admin/billing/accounts/{uid}/credits", Admin, s.adminGrantCredits},
	}
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

func (s *Server) month(r *http.Request) (string, error) {
	m := r.URL.Query().Get("month")
	if m == "" {
		return s.now().UTC().Format("2006-01"), nil
	}
	if !monthRE.MatchString(m) {
		return "", errInvalid(map[string]string{"month": "must be YYYY-MM"})
	}
	return m, nil
}

// projectNames names the caller's projects (usage of deleted ones stays unnamed).
func (s *Server) projectNames(r *http.Request) map[string]string {
	names := map[string]string{}
	ps, err := s.store.ListProjects(r.Context(), principal(r).User.ID)
	if err != nil {
		return names
	}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	return names
}

// usage answers GET /api/usage?month=YYYY-MM: the caller's month by meter,
// project and day, with the plan, the balance and the 80% warning.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	month, err := s.month(r)
	if err != nil {
		return err
	}
	u, err := s.billing.Usage(r.Context(), principal(r).User.ID, month)
	if err != nil {
		return err
	}
	names := s.projectNames(r)
	for i := range u.Projects {
		u.Projects[i].Name = names[u.Projects[i].ProjectID]
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) usageStatement(w http.ResponseWriter, r *http.Request) error {
	month, err := s.month(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ecode-statement-%s.csv"`, month))
	return s.billing.WriteStatement(r.Context(), w, principal(r).User.ID, month, s.projectNames(r))
}

func (s *Server) adminPriceBook(w http.ResponseWriter, r *http.Request) error {
	pb, err := s.billing.PriceBook(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pb)
	return nil
}

type priceBookRequest struct{ billing.PriceBook }

func (priceBookRequest) validate() map[string]string { return nil } // the service validates

func (s *Server) putAdminPriceBook(w http.ResponseWriter, r *http.Request) error {
	var q priceBookRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.billing.SetPriceBook(r.Context(), q.PriceBook); err != nil {
		return err
	}
	return s.adminPriceBook(w, r)
}

func (s *Server) adminPlans(w http.ResponseWriter, r *http.Request) error {
	plans, err := s.billing.Plans(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": plans})
	return nil
}

type planRequest struct{ billing.Plan }

func (planRequest) validate() map[string]string { return nil } // the service validates

func (s *Server) putAdminPlan(w http.ResponseWriter, r *http.Request) error {
	var q planRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	q.ID = r.PathValue("plan")
	if err := s.billing.PutPlan(r.Context(), q.Plan); err != nil {
		return err
	}
	return s.adminPlans(w, r)
}

// adminBillingAccounts lists every account with its plan, balance and month's usage.
func (s *Server) adminBillingAccounts(w http.ResponseWriter, r *http.Request) error {
	month, err := s.month(r)
	if err != nil {
		return err
	}
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, u := range users {
		b, err := s.billing.Balance(r.Context(), u.ID, month)
		if err != nil {
			return err
		}
		out = append(out, map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "plan": b.Plan.ID,
			"used_micros": b.UsedMicros, "balance_micros": b.CreditMicros, "left_micros": b.LeftMicros, "warning": b.Warning})
	}
	writeJSON(w, http.StatusOK, map[string]any{"month": month, "accounts": out})
	return nil
}

type assignPlanRequest struct {
	Plan string `json:"plan"`
}

func (q *assignPlanRequest) validate() map[string]string {
	if q.Plan == "" {
		return map[string]string{"plan": "required"}
	}
	return nil
}

func (s *Server) adminUserExists(r *http.Request) (string, error) {
	id := r.PathValue("uid")
	if _, err := s.store.UserByID(r.Context(), id); err != nil {
		return "", errNotFound("user")
	}
	return id, nil
}

func (s *Server) adminAssignPlan(w http.ResponseWriter, r *http.Request) error {
	var q assignPlanRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	id, err := s.adminUserExists(r)
	if err != nil {
		return err
	}
	if err := s.billing.AssignPlan(r.Context(), id, q.Plan); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"plan": q.Plan})
	return nil
}

type grantRequest struct {
	AmountMicros   int64  `json:"amount_micros"`
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

func (q *grantRequest) validate() map[string]string {
	f := map[string]string{}
	if q.AmountMicros == 0 || q.AmountMicros > 1e12 || q.AmountMicros < -1e12 {
		f["amount_micros"] = "must be a non-zero amount of at most 10^12"
	}
	if q.Reason == "" || len(q.Reason) > 200 {
		f["reason"] = "must be 1-200 characters"
	}
	if len(q.IdempotencyKey) > 100 {
		f["idempotency_key"] = "must be at most 100 characters"
	}
	return f
}

func (s *Server) adminGrantCredits(w http.ResponseWriter, r *http.Request) error {
	var q grantRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	id, err := s.adminUserExists(r)
	if err != nil {
		return err
	}
	key := ""
	if q.IdempotencyKey != "" {
		key = "grant:" + id + ":" + q.IdempotencyKey
	}
	if err := s.billing.Grant(r.Context(), id, q.AmountMicros, q.Reason, principal(r).User.ID, key); err != nil {
		return err
	}
	b, err := s.billing.Balance(r.Context(), id, "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// billingError is the *Error of the billing package's refusals: 402
// "quota" with the limit reached and where to top up, or 400 for invalid input.
func billingError(err error) (*Error, bool) {
	var q *billing.QuotaError
	if errors.As(err, &q) {
		return &Error{Status: http.StatusPaymentRequired, Code: "quota", Message: q.Message,
			Fields: map[string]string{"limit": q.Code, "what": q.What, "link": q.Link}}, true
	}
	var inv *billing.InvalidError
	if errors.As(err, &inv) {
		return errInvalid(inv.Fields), true
	}
	var we *billing.WebhookError
	if errors.As(err, &we) {
		return &Error{Status: http.StatusBadRequest, Code: "bad_signature", Message: "not a Stripe event signed with the webhook secret", Err: err}, true
	}
	if errors.Is(err, billing.ErrCreditsOnly) {
		return &Error{Status: http.StatusConflict, Code: "credits_only", Message: err.Error()}, true
	}
	return nil, false
}

// allow refuses work the owner's plan or credits do not allow (402 quota).
func (s *Server) allow(r *http.Request, accountID, what string) error {
	return s.billing.Allow(r.Context(), accountID, what)
}

// allowRun refuses a run or exec in the route's project that the owner's
// plan or credits do not allow: the plan's concurrent runs count the
// owner's other projects whose app is running.
func (s *Server) allowRun(r *http.Request, what string) error {
	p := project(r)
	running := 0
	for _, id := range s.runner.Running() {
		if id == p.ID {
			continue
		}
		if owner, err := s.store.ProjectOwner(r.Context(), id); err == nil && owner == p.OwnerID {
			running++
		}
	}
	return s.billing.AllowRun(r.Context(), p.OwnerID, what, running)
}

type checkoutRequest struct {
	Plan string `json:"plan,omitempty"`
	Pack string `json:"pack,omitempty"`
}

func (q *checkoutRequest) validate() map[string]string {
	if (q.Plan == "") == (q.Pack == "") {
		return map[string]string{"plan": "give a plan or a pack"}
	}
	return nil
}

// usageCheckout answers POST /api/usage/checkout {plan} or {pack}: the URL
// of a Stripe Checkout session selling it to the caller's account; the
// plan or credits apply when Stripe's webhook confirms.
func (s *Server) usageCheckout(w http.ResponseWriter, r *http.Request) error {
	var q checkoutRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u := principal(r).User
	link, err := s.billing.Checkout(r.Context(), billing.CheckoutRequest{AccountID: u.ID, Email: u.Email, Plan: q.Plan, Pack: q.Pack,
		ReturnURL: s.absoluteURL(r, "/usage")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": link})
	return nil
}

// absoluteURL is path on the server's public URL (--public-url, else the request's host).
func (s *Server) absoluteURL(r *http.Request, path string) string {
	if u, err := url.Parse(s.opts.PublicURL); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// maxWebhookBody bounds a Stripe event (Stripe's are a few KiB).
const maxWebhookBody = 1 << 20

// stripeWebhook answers POST /api/stripe/webhook: Stripe's events, each
// verified with the webhook secret (400 otherwise) and applied once.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		return err
	}
	applied, err := s.billing.HandleWebhook(r.Context(), body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"received": true, "applied": applied})
	return nil
}
