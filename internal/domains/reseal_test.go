package domains_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"ecode/internal/domains"
	"ecode/internal/secretbox"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

// TestResealUnderNewKey: `ecode keys rotate` reseals the ACME account key
// and the certificates' keys; the old master key no longer opens them and
// the new one does.
func TestResealUnderNewKey(t *testing.T) {
	testdb.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		from, _ := secretbox.New(bytes.Repeat([]byte{1}, 32))
		to, _ := secretbox.New(bytes.Repeat([]byte{2}, 32))
		now := time.Now()
		u, err := st.CreateUser(ctx, store.User{ID: "u1", Email: "u@example.test", Name: "u", CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateProject(ctx, store.Project{ID: "p1", Name: "p", OwnerID: u.ID, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		acct := store.ACMEAccount{Directory: "https://acme.test/dir", KeySealed: from.SealString("account", "acme-account:https://acme.test/dir"), CreatedAt: now}
		if err := st.PutACMEAccount(ctx, acct); err != nil {
			t.Fatal(err)
		}
		d := store.CustomDomain{Domain: "a.example.com", ProjectID: "p1", CreatedBy: u.ID, Token: "t", Status: store.DomainVerified, CreatedAt: now}
		if err := st.AddCustomDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
		d.CertStatus, d.CertChain, d.CertKeySealed = "issued", "chain", from.SealString("certkey", "domain-cert:a.example.com")
		if err := st.SetCustomDomainCert(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := st.InTx(ctx, func(tx *store.Store) error { return domains.Reseal(ctx, tx, from, to) }); err != nil {
			t.Fatal(err)
		}
		a, err := st.GetACMEAccount(ctx, acct.Directory)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := to.OpenString(a.KeySealed, "acme-account:"+acct.Directory); err != nil || v != "account" {
			t.Fatalf("account key under the new key: %q, %v", v, err)
		}
		got, err := st.CustomDomain(ctx, d.Domain)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := to.OpenString(got.CertKeySealed, "domain-cert:"+d.Domain); err != nil || v != "certkey" {
			t.Fatalf("certificate key under the new key: %q, %v", v, err)
		}
		if _, err := from.OpenString(got.CertKeySealed, "domain-cert:"+d.Domain); err == nil {
			t.Fatal("the old key still opens the certificate key")
		}
	})
}
