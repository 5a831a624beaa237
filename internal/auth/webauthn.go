package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"ecode/internal/store"
)

// ErrPasskey is returned for a passkey response that does not verify (or
// whose ceremony expired or was used).
var ErrPasskey = errors.New("the passkey could not be verified; try again")

const ceremonyTime = 5 * time.Minute

// RelyingParty is who passkeys are bound to: the host name of the server's
// public URL (or of the request on a local server) and the browser origin.
type RelyingParty struct {
	ID     string
	Origin string
}

// waUser adapts an account to the WebAuthn library.
type waUser struct {
	u     store.User
	creds []webauthn.Credential
}

func (w waUser) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w waUser) WebAuthnName() string                       { return w.u.Email }
func (w waUser) WebAuthnDisplayName() string                { return w.u.Name }
func (w waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func (s *Service) relyingParty(rp RelyingParty) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{RPID: rp.ID, RPDisplayName: issuer, RPOrigins: []string{rp.Origin}})
}

func (s *Service) loadWAUser(ctx context.Context, u store.User) (waUser, error) {
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return waUser{}, err
	}
	w := waUser{u: u}
	for _, p := range ps {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(p.Credential), &c); err != nil {
			return waUser{}, fmt.Errorf("passkey %s: %w", p.ID, err)
		}
		w.creds = append(w.creds, c)
	}
	return w, nil
}

func (s *Service) saveCeremony(ctx context.Context, userID, kind string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", err
	}
	id := NewID()
	now := s.now()
	return id, s.store.AddCeremony(ctx, store.Ceremony{ID: id, UserID: userID, Kind: kind, Data: string(data),
		ExpiresAt: now.Add(ceremonyTime)}, now)
}

func (s *Service) takeCeremony(ctx context.Context, id, kind string) (store.Ceremony, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	c, err := s.store.TakeCeremony(ctx, id, kind, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return c, sd, ErrPasskey
	}
	if err != nil {
		return c, sd, err
	}
	return c, sd, json.Unmarshal([]byte(c.Data), &sd)
}

// BeginPasskeyRegistration starts adding a passkey (a discoverable
// credential, so it can sign in without a password) to u.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, u store.User, rp RelyingParty) (any, string, error) {
	wa, err := s.relyingParty(rp)
	if err != nil {
		return nil, "", err
	}
	w, err := s.loadWAUser(ctx, u)
	if err != nil {
		return nil, "", err
	}
	creation, sd, err := wa.BeginRegistration(w, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(w.creds).CredentialDescriptors()))
	if err != nil {
		return nil, "", err
	}
	id, err := s.saveCeremony(ctx, u.ID, "register", sd)
	return creation, id, err
}

// FinishPasskeyRegistration verifies the browser's response and stores the
// passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, u store.User, rp RelyingParty, ceremony, name string, response []byte) (store.Passkey, error) {
	c, sd, err := s.takeCeremony(ctx, ceremony, "register")
	if err != nil {
		return store.Passkey{}, err
	}
	if c.UserID != u.ID {
		return store.Passkey{}, ErrPasskey
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return store.Passkey{}, ErrPasskey
	}
	wa, err := s.relyingParty(rp)
	if err != nil {
		return store.Passkey{}, err
	}
	w, err := s.loadWAUser(ctx, u)
	if err != nil {
		return store.Passkey{}, err
	}
	cred, err := wa.CreateCredential(w, sd, parsed)
	if err != nil {
		return store.Passkey{}, fmt.Errorf("%w (%v)", ErrPasskey, err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return store.Passkey{}, err
	}
	p := store.Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: u.ID, Name: name,
		Credential: string(data), CreatedAt: s.now()}
	return p, s.store.AddPasskey(ctx, p)
}

// BeginPasskeyLogin starts a passkey sign-in: password-less (u is nil: any
// discoverable passkey of this server) or as the second factor of u. It is
// rate limited per client address like password sign-ins (it stores the
// ceremony before anyone is known).
func (s *Service) BeginPasskeyLogin(ctx context.Context, u *store.User, rp RelyingParty, clientIP string) (any, string, error) {
	if ok, _ := s.ceremonies.Allow(clientIP); !ok {
		return nil, "", ErrRateLimited
	}
	wa, err := s.relyingParty(rp)
	if err != nil {
		return nil, "", err
	}
	if u == nil {
		assertion, sd, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, "", err
		}
		id, err := s.saveCeremony(ctx, "", "login", sd)
		return assertion, id, err
	}
	w, err := s.loadWAUser(ctx, *u)
	if err != nil {
		return nil, "", err
	}
	if len(w.creds) == 0 {
		return nil, "", ErrPasskey
	}
	assertion, sd, err := wa.BeginLogin(w)
	if err != nil {
		return nil, "", err
	}
	id, err := s.saveCeremony(ctx, u.ID, "mfa", sd)
	return assertion, id, err
}

// FinishPasskeyLogin verifies a passkey assertion and returns its user; u
// is the user of a second-factor ceremony (nil for password-less).
func (s *Service) FinishPasskeyLogin(ctx context.Context, u *store.User, rp RelyingParty, ceremony string, response []byte) (store.User, error) {
	kind := "login"
	if u != nil {
		kind = "mfa"
	}
	c, sd, err := s.takeCeremony(ctx, ceremony, kind)
	if err != nil {
		return store.User{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return store.User{}, ErrPasskey
	}
	wa, err := s.relyingParty(rp)
	if err != nil {
		return store.User{}, err
	}
	var w waUser
	var cred *webauthn.Credential
	if u != nil {
		if c.UserID != u.ID {
			return store.User{}, ErrPasskey
		}
		if w, err = s.loadWAUser(ctx, *u); err != nil {
			return store.User{}, err
		}
		cred, err = wa.ValidateLogin(w, sd, parsed)
	} else {
		cred, err = wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			p, err := s.store.PasskeyByID(ctx, base64.RawURLEncoding.EncodeToString(rawID))
			if err != nil || !bytes.Equal([]byte(p.UserID), userHandle) {
				return nil, ErrPasskey
			}
			owner, err := s.store.UserByID(ctx, p.UserID)
			if err != nil {
				return nil, err
			}
			w, err = s.loadWAUser(ctx, owner)
			return w, err
		}, sd, parsed)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("%w (%v)", ErrPasskey, err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return store.User{}, err
	}
	if err := s.store.UsePasskey(ctx, base64.RawURLEncoding.EncodeToString(cred.ID), string(data), s.now()); err != nil {
		return store.User{}, err
	}
	return w.u, nil
}
