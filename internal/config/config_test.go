package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsEnvAndFlags(t *testing.T) {
	c, err := Load("t", nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:5000" || c.DataDir != "./ecode-data" || c.Sandbox != "bwrap" || c.SessionIdle != 72*time.Hour {
		t.Errorf("defaults: %+v", c)
	}
	if c.CollabBroadcastWindow != 0 {
		t.Errorf("the broadcast window is on by default: %v", c.CollabBroadcastWindow)
	}
	if w, err := Load("t", nil, env(map[string]string{"ECODE_COLLAB_BROADCAST_WINDOW": "20ms"})); err != nil || w.CollabBroadcastWindow != 20*time.Millisecond {
		t.Errorf("ECODE_COLLAB_BROADCAST_WINDOW=20ms: %v, %v", w, err)
	}
	if c.Postgres() || c.SQLitePath() != "ecode-data/ecode.db" {
		t.Errorf("default database: postgres=%v path=%s", c.Postgres(), c.SQLitePath())
	}
	c, err = Load("t", []string{"--data-dir", "/flag"}, env(map[string]string{
		"ECODE_DATA_DIR": "/env", "ECODE_DATABASE_URL": "postgres://u:secret@h/db", "ECODE_SESSION_IDLE": "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/flag" || !c.Postgres() || c.SessionIdle != time.Hour {
		t.Errorf("flag must beat env, env must beat default: %+v", c)
	}
	dump := c.Dump()
	if strings.Contains(dump, "secret") || !strings.Contains(dump, "ECODE_DATABASE_URL=postgres://u:xxxxx@h/db") {
		t.Errorf("dump does not redact the password:\n%s", dump)
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--dev-login", "--addr", "0.0.0.0:5000"}, nil, "dev-login is refused"},
		{[]string{"--sandbox", "docker"}, nil, "sandbox"},
		{[]string{"--addr", "nonsense"}, nil, "addr"},
		{[]string{"--sandbox", "kubernetes"}, nil, "needs kube-image"},
		{[]string{"--sandbox", "kubernetes", "--kube-image", "e:1", "--kube-egress", "10.0.0.0/8,nope"}, nil, `kube-egress: "nope"`},
		{[]string{"--sandbox", "kubernetes", "--kube-image", "e:1", "--kube-pod-name", "ecode-0"}, nil, "kube-pod-name and kube-pod-uid go together"},
		{nil, map[string]string{"ECODE_SESSION_IDLE": "soon"}, "ECODE_SESSION_IDLE"},
		{[]string{"extra"}, nil, "unexpected arguments"},
		{[]string{"--collab-broadcast-window", "-1ms"}, nil, "collab-broadcast-window"},
		{[]string{"--collab-broadcast-window", "2s"}, nil, "collab-broadcast-window"},
		{[]string{"--object-store", "gcs"}, nil, "object-store"},
		{[]string{"--object-store", "s3"}, nil, "needs s3-endpoint"},
		{[]string{"--internal-addr", "127.0.0.1:7071"}, nil, "needs cluster-secret"},
		{[]string{"--internal-addr", "127.0.0.1:7071", "--cluster-secret", "0123456789abcdef"}, nil, "needs database-url (PostgreSQL) and redis-url"},
		{[]string{"--internal-addr", "nope", "--cluster-secret", "0123456789abcdef"}, nil, "internal-addr"},
	} {
		_, err := Load("t", tc.args, env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %v) = %v, want an error mentioning %q", tc.args, tc.env, err, tc.want)
		}
	}
	// The egress proxy reaches workspace pods through their agent's tunnel.
	if _, err := Load("t", []string{"--sandbox", "kubernetes", "--kube-image", "e:1", "--egress", "proxy"}, env(nil)); err != nil {
		t.Errorf("sandbox=kubernetes with egress=proxy: %v", err)
	}
	k, err := Load("t", []string{"--sandbox", "kubernetes", "--kube-image", "e:1", "--kube-egress", "10.1.2.3/8, 192.168.0.9/32"},
		env(map[string]string{"ECODE_KUBE_RUNTIME_CLASS": "gvisor"}))
	if cidrs, _ := k.KubeEgressCIDRs(); err != nil || k.KubeRuntimeClass != "gvisor" || k.KubeNamespace != "ecode" || k.KubeDataClaim != "ecode-data" ||
		strings.Join(cidrs, " ") != "10.0.0.0/8 192.168.0.9/32" {
		t.Errorf("kubernetes sandbox: %+v, %v", k, err)
	}
	c, err := Load("t", []string{"--object-store", "s3", "--s3-endpoint", "127.0.0.1:9000"}, env(map[string]string{"ECODE_S3_SECRET_KEY": "hunter2"}))
	if err != nil || c.S3SecretKey != "hunter2" || c.S3Bucket != "ecode-objects" {
		t.Errorf("s3 object store: %+v, %v", c, err)
	} else if strings.Contains(c.Dump(), "hunter2") {
		t.Error("dump shows the S3 secret key")
	}
	node, err := Load("t", []string{"--internal-addr", "10.0.0.5:7071", "--node-id", "n1", "--database-url", "postgres://h/db",
		"--redis-url", "redis://h:6379/0"}, env(map[string]string{"ECODE_CLUSTER_SECRET": "a-secret-of-20-chars"}))
	if err != nil || !node.Clustered() || node.NodeName() != "n1" || node.InternalAdvertised() != "http://10.0.0.5:7071" {
		t.Errorf("a node of several: %+v, %v", node, err)
	} else if strings.Contains(node.Dump(), "a-secret-of-20-chars") {
		t.Error("dump shows the cluster secret")
	}
	if _, err := Load("t", []string{"--dev-login", "--addr", "localhost:5000"}, env(nil)); err != nil {
		t.Errorf("dev-login on loopback: %v", err)
	}
}

func TestTrustedProxies(t *testing.T) {
	c := &Config{TrustedProxies: " 10.0.0.0/8, 192.168.1.7 ,::1"}
	p, err := c.TrustedProxyPrefixes()
	if err != nil || len(p) != 3 || p[1].Bits() != 32 || p[2].Bits() != 128 {
		t.Fatalf("%v %v", p, err)
	}
	c.TrustedProxies = "10.0.0.0/8,proxy.internal"
	if _, err := c.TrustedProxyPrefixes(); err == nil {
		t.Fatal("a host name was accepted as a proxy address")
	}
}

func TestStripeOptions(t *testing.T) {
	if _, err := Load("t", []string{"--stripe-api-key", "sk_test_1"}, env(nil)); err == nil || !strings.Contains(err.Error(), "stripe-webhook-secret") {
		t.Fatalf("a Stripe key without the webhook secret: %v", err)
	}
	c, err := Load("t", nil, env(map[string]string{"ECODE_STRIPE_API_KEY": "sk_test_key", "ECODE_STRIPE_WEBHOOK_SECRET": "whsec_hidden",
		"ECODE_STRIPE_API_URL": "http://127.0.0.1:12111"}))
	if err != nil || c.StripeAPIKey != "sk_test_key" || c.StripeMeterEvent != "ecode_usage" {
		t.Fatalf("stripe options: %+v %v", c, err)
	}
	if dump := c.Dump(); strings.Contains(dump, "sk_test_key") || strings.Contains(dump, "whsec_hidden") {
		t.Errorf("dump shows a Stripe secret:\n%s", dump)
	}
}
