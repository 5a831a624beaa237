package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/skip2/go-qrcode"

	"ecode/internal/auth"
	"ecode/internal/store"
)

// completeLogin runs after a correct password: a disabled account stops
// here; an account with two-factor on needs code (a TOTP or recovery code),
// and without one gets a pending session and 401 totp_required.
func (s *Server) completeLogin(w http.ResponseWriter, r *http.Request, u store.User, code string) error {
	if err := s.refuseDisabled(r, u); err != nil {
		return err
	}
	on, err := s.auth.TwoFactorOn(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if !on {
		return s.signIn(w, r, u, "password")
	}
	if strings.TrimSpace(code) == "" {
		if err := s.startSession(w, r, u, true); err != nil {
			return err
		}
		return &Error{Status: http.StatusUnauthorized, Code: "totp_required",
			Message: "enter the code from your authenticator app, a recovery code, or use a passkey"}
	}
	method, err := s.checkSecondFactor(r, u, code)
	if err != nil {
		return err
	}
	return s.signIn(w, r, u, method)
}

// refuseDisabled stops the sign-in of a disabled account (after its
// credentials were checked, so the answer reveals nothing to strangers).
func (s *Server) refuseDisabled(r *http.Request, u store.User) error {
	if !u.Disabled {
		return nil
	}
	s.audit(r, evSignInFailed, u.ID, "", "account disabled")
	return &Error{Status: http.StatusForbidden, Code: "account_disabled", Message: auth.ErrAccountDisabled.Error()}
}

// checkSecondFactor checks a TOTP or recovery code and says which it was.
func (s *Server) checkSecondFactor(r *http.Request, u store.User, code string) (string, error) {
	recovery, err := s.auth.CheckSecondFactor(r.Context(), u.ID, code)
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		return "", errTooManyCodes
	case errors.Is(err, auth.ErrBadCode):
		s.audit(r, evSecondFactorBad, u.ID, "", "wrong or reused code")
		return "", &Error{Status: http.StatusUnauthorized, Code: "totp_invalid", Message: "the code is wrong or was already used"}
	case err != nil:
		return "", err
	}
	if recovery {
		s.audit(r, evRecoveryUsed, u.ID, u.ID, "")
		return "password+recovery_code", nil
	}
	return "password+totp", nil
}

// signIn starts a full session (a new id) and records the sign-in.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, u store.User, method string) error {
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	if err := s.store.RecordLogin(r.Context(), u.ID, s.now()); err != nil {
		return err
	}
	s.audit(r, evSignIn, u.ID, u.ID, method)
	writeJSON(w, http.StatusOK, userJSON(u))
	return nil
}

// pendingUser is the user of the browser's session that waits for its
// second factor.
func (s *Server) pendingUser(r *http.Request) (store.User, error) {
	t, ok := s.sessionToken(r)
	if !ok {
		return store.User{}, auth.ErrNoSession
	}
	return s.auth.PendingUser(r.Context(), t)
}

var errNoPendingSignIn = &Error{Status: http.StatusBadRequest, Code: "no_pending_sign_in",
	Message: "no sign-in is waiting for a second factor; sign in with your password again"}

var errTooManyCodes = &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Message: "too many codes tried; wait a minute"}

type codeRequest struct {
	Code string `json:"code"`
}

func (q *codeRequest) validate() map[string]string {
	q.Code = strings.TrimSpace(q.Code)
	if q.Code == "" || len(q.Code) > 64 {
		return map[string]string{"code": "required"}
	}
	return nil
}

// loginSecondFactor completes a sign-in whose password was accepted, with a
// TOTP or recovery code; the pending session is replaced by a new one.
func (s *Server) loginSecondFactor(w http.ResponseWriter, r *http.Request) error {
	var q codeRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	u, err := s.pendingUser(r)
	if errors.Is(err, auth.ErrNoSession) {
		return errNoPendingSignIn
	}
	if err != nil {
		return err
	}
	method, err := s.checkSecondFactor(r, u, q.Code)
	if err != nil {
		return err
	}
	return s.signIn(w, r, u, method)
}

type totpStatus struct {
	Enabled           bool `json:"enabled"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	Passkeys          int  `json:"passkeys"`
}

func (s *Server) totpStatus(w http.ResponseWriter, r *http.Request) error {
	id := principal(r).User.ID
	on, err := s.auth.TwoFactorOn(r.Context(), id)
	if err != nil {
		return err
	}
	st := totpStatus{Enabled: on}
	if st.RecoveryCodesLeft, err = s.store.RecoveryCodesLeft(r.Context(), id); err != nil {
		return err
	}
	ps, err := s.store.Passkeys(r.Context(), id)
	if err != nil {
		return err
	}
	st.Passkeys = len(ps)
	writeJSON(w, http.StatusOK, st)
	return nil
}

type enrollResponse struct {
	Secret     string `json:"secret"`
	OtpauthURL string `json:"otpauth_url"`
	// QRCode is the otpauth URL as a PNG data: URL, drawn on the server so
	// the secret goes to no third party and the UI needs no QR library.
	QRCode string `json:"qr_code"`
}

func (s *Server) totpEnroll(w http.ResponseWriter, r *http.Request) error {
	secret, url, err := s.auth.EnrollTOTP(r.Context(), principal(r).User)
	if errors.Is(err, auth.ErrTOTPEnabled) {
		return errConflict(err.Error())
	}
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(url, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, enrollResponse{Secret: secret, OtpauthURL: url,
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)})
	return nil
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request) error {
	var q codeRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	codes, err := s.auth.ConfirmTOTP(r.Context(), principal(r).User.ID, q.Code)
	switch {
	case errors.Is(err, auth.ErrNoEnrollment):
		return errBadRequest(err.Error())
	case errors.Is(err, auth.ErrTOTPEnabled):
		return errConflict(err.Error())
	case errors.Is(err, auth.ErrRateLimited):
		return errTooManyCodes
	case errors.Is(err, auth.ErrBadCode):
		return errInvalid(map[string]string{"code": "the code is wrong; check the time on your device"})
	case err != nil:
		return err
	}
	s.auditSelf(r, evTOTPEnabled, "")
	writeJSON(w, http.StatusOK, map[string][]string{"recovery_codes": codes})
	return nil
}

type disableTOTPRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

func (q *disableTOTPRequest) validate() map[string]string {
	f := map[string]string{}
	if q.Password == "" {
		f["password"] = "required"
	}
	if strings.TrimSpace(q.Code) == "" {
		f["code"] = "required"
	}
	return f
}

// totpDisable turns two-factor off; it needs the password and a code.
func (s *Server) totpDisable(w http.ResponseWriter, r *http.Request) error {
	var q disableTOTPRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	err := s.auth.DisableTOTP(r.Context(), principal(r).User, q.Password, q.Code)
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return errInvalid(map[string]string{"password": "wrong password"})
	case errors.Is(err, auth.ErrNoTOTP):
		return errConflict(err.Error())
	case errors.Is(err, auth.ErrRateLimited):
		return errTooManyCodes
	case errors.Is(err, auth.ErrBadCode):
		return errInvalid(map[string]string{"code": "the code is wrong or was already used"})
	case err != nil:
		return err
	}
	s.auditSelf(r, evTOTPDisabled, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
