package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"ecode/internal/secretbox"
	"ecode/internal/store"
)

// Errors of the second factor.
var (
	ErrBadCode      = errors.New("the code is not valid")
	ErrTOTPEnabled  = errors.New("two-factor authentication is already on")
	ErrNoTOTP       = errors.New("two-factor authentication is not on")
	ErrNoSecretBox  = errors.New("two-factor authentication needs the server's master key")
	ErrNoEnrollment = errors.New("start the set-up first")
)

// TOTP parameters: RFC 6238 defaults, which every authenticator app reads.
const (
	totpPeriod     = 30
	totpSkew       = 1 // steps accepted either side of now
	recoveryCodeN  = 10
	recoveryBytes  = 15 // 120 bits: a plain SHA-256 is enough (ASVS 6.5.2)
	issuer         = "E-Code"
	pendingMFATime = 5 * time.Minute
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// SetSecretBox gives the service the master-key box that seals TOTP secrets.
func (s *Service) SetSecretBox(b *secretbox.Box) { s.box = b }

func totpAD(userID string) string { return "totp:" + userID }

// EnrollTOTP makes a new secret for u (not yet on: ConfirmTOTP turns it on)
// and returns it with its otpauth:// URL.
func (s *Service) EnrollTOTP(ctx context.Context, u store.User) (secret, url string, err error) {
	if s.box == nil {
		return "", "", ErrNoSecretBox
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return "", "", err
	}
	err = s.store.StartTOTP(ctx, store.TOTP{UserID: u.ID, Secret: s.box.SealString(key.Secret(), totpAD(u.ID)), CreatedAt: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return "", "", ErrTOTPEnabled
	}
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// ConfirmTOTP checks a first code against the enrolled secret, turns TOTP on
// and returns ten new recovery codes (shown once; only hashes are stored).
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	t, err := s.store.TOTPOf(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoEnrollment
	}
	if err != nil {
		return nil, err
	}
	if t.Enabled {
		return nil, ErrTOTPEnabled
	}
	if ok, _ := s.mfaLimiter.Allow("mfa:" + userID); !ok {
		return nil, ErrRateLimited
	}
	step, err := s.matchTOTP(t, code)
	if err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	if err := s.store.EnableTOTP(ctx, userID, step, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// TwoFactorOn reports whether a user must give a second factor.
func (s *Service) TwoFactorOn(ctx context.Context, userID string) (bool, error) {
	t, err := s.store.TOTPOf(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return t.Enabled, err
}

// CheckSecondFactor accepts a TOTP code (each time-step once, never an
// earlier one) or an unused recovery code (then used up); recovery reports
// which. Attempts are rate limited per account.
func (s *Service) CheckSecondFactor(ctx context.Context, userID, code string) (recovery bool, err error) {
	if ok, _ := s.mfaLimiter.Allow("mfa:" + userID); !ok {
		return false, ErrRateLimited
	}
	t, err := s.store.TOTPOf(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !t.Enabled {
		return false, ErrNoTOTP
	}
	if err != nil {
		return false, err
	}
	if norm := normalizeRecoveryCode(code); len(norm) == base32.StdEncoding.WithPadding(base32.NoPadding).EncodedLen(recoveryBytes) {
		err := s.store.UseRecoveryCode(ctx, userID, hashRecoveryCode(norm), s.now())
		if errors.Is(err, store.ErrNotFound) {
			return true, ErrBadCode
		}
		return true, err
	}
	step, err := s.matchTOTP(t, code)
	if err != nil {
		return false, err
	}
	if err := s.store.UseTOTPStep(ctx, userID, step); errors.Is(err, store.ErrConflict) {
		return false, ErrBadCode // replayed
	} else if err != nil {
		return false, err
	}
	return false, nil
}

// matchTOTP returns the time-step whose code is code, within the skew.
func (s *Service) matchTOTP(t store.TOTP, code string) (int64, error) {
	if s.box == nil {
		return 0, ErrNoSecretBox
	}
	secret, err := s.box.OpenString(t.Secret, totpAD(t.UserID))
	if err != nil {
		return 0, fmt.Errorf("open totp secret of %s: %w", t.UserID, err)
	}
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	now := s.now().Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := now + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, nil
		}
	}
	return 0, ErrBadCode
}

// DisableTOTP turns TOTP off; it needs the password and a current code (or
// a recovery code).
func (s *Service) DisableTOTP(ctx context.Context, u store.User, password, code string) error {
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok {
		return ErrBadCredentials
	}
	if _, err := s.CheckSecondFactor(ctx, u.ID, code); err != nil {
		return err
	}
	return s.store.DeleteTOTP(ctx, u.ID)
}

// ResetTwoFactor turns a user's TOTP off (an admin's action).
func (s *Service) ResetTwoFactor(ctx context.Context, userID string) error {
	err := s.store.DeleteTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoTOTP
	}
	return err
}

func newRecoveryCodes() (codes, hashes []string) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range recoveryCodeN {
		b := make([]byte, recoveryBytes)
		rand.Read(b)
		c := enc.EncodeToString(b)
		codes = append(codes, c[0:6]+"-"+c[6:12]+"-"+c[12:18]+"-"+c[18:])
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes
}

// normalizeRecoveryCode drops separators and case, as people type codes.
func normalizeRecoveryCode(c string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(c)))
}

func hashRecoveryCode(norm string) string {
	h := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(h[:])
}
