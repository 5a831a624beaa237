package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"ecode/internal/agentrun"
	"ecode/internal/checkpoint"
	"ecode/internal/config"
	"ecode/internal/domains"
	"ecode/internal/secretbox"
	"ecode/internal/secrets"
	"ecode/internal/store"
)

func keySource(cfg *config.Config) secrets.KeySource {
	return secrets.KeySource{File: cfg.KeyFile(), Env: cfg.MasterKey, Command: cfg.MasterKeyCommand}
}

// openSecrets builds the secrets service and the box sealing the other
// stored secrets (provider API keys), both under the master key.
func openSecrets(cfg *config.Config, st *store.Store, log *slog.Logger) (*secrets.Service, *secretbox.Box, error) {
	keys, err := secrets.OpenKeyring(keySource(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("master key: %w", err)
	}
	box, err := keys.Box()
	if err != nil {
		return nil, nil, err
	}
	return secrets.New(st, keys, time.Now, log.With("component", "secrets")), box, nil
}

// checkpointSecretSet is history's SecretSet over the secrets service.
func checkpointSecretSet(sec *secrets.Service) func(context.Context, string) ([]checkpoint.SecretRef, error) {
	return func(ctx context.Context, projectID string) ([]checkpoint.SecretRef, error) {
		set, err := sec.Set(ctx, projectID)
		out := make([]checkpoint.SecretRef, len(set))
		for i, nv := range set {
			out[i] = checkpoint.SecretRef{Name: nv.Name, Version: nv.Version}
		}
		return out, err
	}
}

// keysCommand is `ecode keys rotate`: a new master key, every data key
// rewrapped under it (servers may keep running).
func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: ecode keys rotate [server flags]")
	}
	cfg, err := config.Load("ecode keys rotate", args[1:], getenv)
	if err != nil {
		return err
	}
	if cfg.MasterKey != "" || cfg.MasterKeyCommand != "" {
		return errors.New("the master key comes from --master-key or --master-key-command: rotate it at its source; only a key file is rotated here")
	}
	st, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := secrets.Rotate(ctx, st, cfg.KeyFile(), resealProviderKey)
	if err != nil {
		return fmt.Errorf("rotate: %w (run it again to finish)", err)
	}
	fmt.Fprintf(stdout, "master key rotated: %d data keys rewrapped; %s holds the new key\n", n, cfg.KeyFile())
	return nil
}

// resealProviderKey re-encrypts what is sealed directly under the master
// key: the admin's stored AI provider key, every TOTP secret, the ACME
// account and custom domain certificate keys.
func resealProviderKey(ctx context.Context, tx *store.Store, from, to *secretbox.Box) error {
	if err := domains.Reseal(ctx, tx, from, to); err != nil {
		return err
	}
	totps, err := tx.SealedTOTPSecrets(ctx)
	if err != nil {
		return err
	}
	for _, t := range totps {
		ad := "totp:" + t.UserID // auth's totpAD
		seed, err := from.OpenString(t.Sealed, ad)
		if err != nil {
			return fmt.Errorf("the TOTP secret of %s: %w", t.UserID, err)
		}
		t.Sealed = to.SealString(seed, ad)
		if err := tx.ResealTOTPSecret(ctx, t); err != nil {
			return err
		}
	}
	p, err := tx.AgentProvider(ctx)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.APIKeySealed == "") {
		return nil
	}
	if err != nil {
		return err
	}
	key, err := from.OpenString(p.APIKeySealed, agentrun.APIKeyAD)
	if err != nil {
		return fmt.Errorf("the stored provider API key: %w", err)
	}
	p.APIKeySealed = to.SealString(key, agentrun.APIKeyAD)
	return tx.SetAgentProvider(ctx, p)
}

// auditCommand is `ecode audit verify`: walks the secrets' audit chain.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: ecode audit verify [server flags]")
	}
	cfg, err := config.Load("ecode audit verify", args[1:], getenv)
	if err != nil {
		return err
	}
	st, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := secrets.New(st, nil, nil, nil).Verify(ctx)
	if err != nil {
		return fmt.Errorf("secrets audit log: %w", err)
	}
	fmt.Fprintf(stdout, "secrets audit log: %d rows, chain intact\n", rows)
	return nil
}
