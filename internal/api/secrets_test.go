package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecode/internal/agent/fake"
	"ecode/internal/checkpoint"
	"ecode/internal/client"
	"ecode/internal/config"
	"ecode/internal/runner"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// recorder keeps every API response body, to search them afterwards.
type recorder struct {
	t      *testing.T
	c      *client.Client
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) do(method, path, body string) []byte {
	r.t.Helper()
	var in io.Reader
	if body != "" {
		in = strings.NewReader(body)
	}
	resp, err := r.c.Raw(context.Background(), method, path, in, "application/json")
	if ce, ok := err.(*client.Error); ok { // an error answer: its message is a body too
		b, _ := json.Marshal(ce)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
		return b
	}
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.mu.Unlock()
	return b
}

// waitRunEnded waits (on the runner's change events) until the project's run has ended.
func waitRunEnded(t *testing.T, run *runner.Manager, projectID string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		changed := run.Changed()
		if st := run.RunState(projectID); st.State == runner.StateExited || st.State == runner.StateStopped {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("run did not end: %+v", run.RunState(projectID))
		}
	}
}

// The canary: a secret with a random value goes through a run that prints
// it and crashes with it, exec, the agent's shell, a checkpoint, a restore
// and a fork; afterwards no stored byte (database rows, data dir, checkpoint
// objects decompressed), no API response and no server log line holds it.
func TestSecretCanaryIsStoredNowhere(t *testing.T) {
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b := make([]byte, 12)
		rand.Read(b)
		canary := "canary-" + hex.EncodeToString(b)
		fk := fake.NewAnthropic(&fake.Transcript{Name: "secrets", Steps: []fake.Step{
			{Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
				fake.Tool("secrets", map[string]string{}),
				fake.Tool("bash", map[string]string{"command": `echo "agent sees $CANARY_TOKEN"; printf %s "$CANARY_TOKEN" | base64`}),
			}}},
			{Expect: &fake.Expect{AnyResultContains: "[secret CANARY_TOKEN]"}, Respond: fake.Respond{StopReason: "end_turn",
				Content: []fake.Content{fake.Text("The key is in place.")}}},
		}})
		t.Cleanup(fk.Close)
		var logs testutil.LogBuffer
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Logs: &logs,
			Config: func(c *config.Config) { c.AnthropicAPIKey, c.AnthropicBaseURL = "test-key", fk.URL }})
		rec := &recorder{t: t, c: srv.User(t, "owner")}
		var p struct{ ID string }
		json.Unmarshal(rec.do("POST", "/api/projects", `{"name":"canary"}`), &p)
		base := "/api/projects/" + p.ID
		// the app prints the value and its base64, then crashes with it
		toml := `run = "echo \"value=$CANARY_TOKEN\"; echo \"b64=$(printf %s \"$CANARY_TOKEN\" | base64)\"; echo \"fatal: bad key $CANARY_TOKEN\" >&2; exit 3"` + "\n"
		if err := rec.c.WriteFile(ctx, p.ID, ".ecode.toml", []byte(toml)); err != nil {
			t.Fatal(err)
		}
		if out := rec.do("PUT", base+"/secrets/CANARY_TOKEN", `{"value":"`+canary+`"}`); !bytes.Contains(out, []byte(`"created":true`)) {
			t.Fatalf("put: %s", out)
		}
		if out := rec.do("PUT", base+"/secrets/PORT", `{"value":"123456"}`); !bytes.Contains(out, []byte("cannot replace")) {
			t.Fatalf("a reserved name must be refused clearly: %s", out)
		}

		rec.do("POST", base+"/run", `{}`)
		waitRunEnded(t, srv.Runner, p.ID)
		out, _, _, _ := srv.Runner.CurrentRun(p.ID).Output.ReadFrom(0)
		if !bytes.Contains(out, []byte("value=[secret CANARY_TOKEN]")) || !bytes.Contains(out, []byte("fatal: bad key [secret CANARY_TOKEN]")) ||
			!bytes.Contains(out, []byte("b64=[secret CANARY_TOKEN]")) {
			t.Fatalf("run output not masked as expected:\n%s", out)
		}
		ex := rec.do("POST", base+"/exec", `{"command":"echo \"$CANARY_TOKEN\"; printf %s \"$CANARY_TOKEN\" | od -An -tx1 | tr -d ' \\n'; echo; env | grep -c CANARY_TOKEN="}`)
		var res struct {
			Stdout string `json:"stdout"`
		}
		json.Unmarshal(ex, &res)
		if !strings.HasPrefix(res.Stdout, "[secret CANARY_TOKEN]\n[secret CANARY_TOKEN]\n1") {
			t.Fatalf("exec: %s", ex)
		}

		turn := rec.do("POST", base+"/agent/turns", `{"prompt":"add the key"}`)
		if !bytes.Contains(turn, []byte("The key is in place.")) {
			t.Fatalf("agent turn: %s", turn)
		}
		for _, f := range fk.Failures() {
			t.Error("fake provider:", f)
		}
		var sawResult bool
		for _, r := range fk.Requests() {
			if bytes.Contains(r.Raw, []byte(canary)) || bytes.Contains(r.Raw, []byte(base64.StdEncoding.EncodeToString([]byte(canary))[:16])) {
				t.Fatalf("the model got the value: %s", r.Raw)
			}
			sawResult = sawResult || bytes.Contains(r.Raw, []byte("agent sees [secret CANARY_TOKEN]"))
		}
		if !sawResult {
			t.Fatal("the agent's shell did not get the secret (no masked echo reached the model)")
		}

		var cp struct{ ID string }
		json.Unmarshal(rec.do("POST", base+"/checkpoints", `{"message":"with secret"}`), &cp)
		if cp.ID == "" {
			t.Fatal("no checkpoint")
		}
		rec.do("POST", base+"/checkpoints/"+cp.ID+"/restore", `{}`)
		rec.do("POST", base+"/checkpoints/"+cp.ID+"/fork", `{}`)
		rec.do("GET", base+"/secrets", "")
		rec.do("GET", base+"/secrets/audit", "")
		rec.do("GET", base+"/agent/turns", "")
		srv.Runner.Close() // every process gone: nothing more is written

		needle := []byte(canary)
		for i, body := range rec.bodies {
			if bytes.Contains(body, needle) {
				t.Errorf("API response %d holds the value: %s", i, body)
			}
		}
		if err := st.EachValue(ctx, func(table string, v []byte) {
			if bytes.Contains(v, needle) {
				t.Errorf("table %s holds the value", table)
			}
		}); err != nil {
			t.Fatal(err)
		}
		grepTree(t, srv.Dir, needle)
		objs, err := checkpoint.NewDirStore(filepath.Join(srv.Dir, "objects"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		objs.List(ctx, func(oi checkpoint.ObjectInfo) error {
			rc, err := objs.Get(ctx, oi.Hash)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			n++
			if bytes.Contains(data, needle) {
				t.Errorf("checkpoint object %v holds the value", oi.Hash)
			}
			return nil
		})
		if n == 0 {
			t.Fatal("no checkpoint objects were searched")
		}
		if strings.Contains(logs.String(), canary) {
			t.Error("the server log holds the value")
		}
		// the one place it must be: revealed on purpose (audited), then the audit says so
		var rv struct{ Value string }
		json.Unmarshal(rec.do("POST", base+"/secrets/CANARY_TOKEN/reveal", ""), &rv)
		if rv.Value != canary {
			t.Fatalf("reveal: %q", rv.Value)
		}
		audit := rec.do("GET", base+"/secrets/audit", "")
		for _, want := range []string{`"create"`, `"reveal"`, `run: CANARY_TOKEN`, `exec: CANARY_TOKEN`, `agent: CANARY_TOKEN`} {
			if !bytes.Contains(audit, []byte(want)) {
				t.Errorf("audit lacks %s: %s", want, audit)
			}
		}
	})
}

// grepTree fails for every file under dir holding needle.
func grepTree(t *testing.T, dir string, needle []byte) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, needle) {
			t.Errorf("%s holds the value", path)
		}
		return nil
	})
}

// Viewers see names only; editors change and reveal; the audit is the owner's.
func TestSecretsAccess(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		owner := srv.User(t, "owner")
		viewer := srv.User(t, "viewer")
		p, err := owner.CreateProject(ctx, "s", "static")
		if err != nil {
			t.Fatal(err)
		}
		owner.AddMember(ctx, p.ID, "viewer@example.test", "viewer")
		base := "/api/projects/" + p.ID + "/secrets"
		if err := owner.Do(ctx, "POST", base+"/import", strings.NewReader(`{"env":"A_KEY=alpha-value\nexport B_KEY='bravo value'\n"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		var list []map[string]any
		if err := viewer.Do(ctx, "GET", base, nil, "", &list); err != nil || len(list) != 2 || list[0]["name"] != "A_KEY" {
			t.Fatalf("viewer list: %v %v", list, err)
		}
		raw, _ := json.Marshal(list)
		if bytes.Contains(raw, []byte("alpha-value")) {
			t.Fatal("the list holds a value")
		}
		if err := viewer.Do(ctx, "POST", base+"/A_KEY/reveal", nil, "", nil); err == nil || err.(*client.Error).Status != 403 {
			t.Fatalf("viewer reveal: %v", err)
		}
		var rv struct{ Value string }
		if err := owner.Do(ctx, "POST", base+"/B_KEY/reveal", nil, "", &rv); err != nil || rv.Value != "bravo value" {
			t.Fatalf("owner reveal: %v %v", rv, err)
		}
		// account secrets linked into the project
		if err := owner.Do(ctx, "PUT", "/api/me/secrets/SHARED_KEY", strings.NewReader(`{"value":"shared-account-value"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		if err := owner.Do(ctx, "PUT", base+"/links/SHARED_KEY", nil, "", nil); err != nil {
			t.Fatal(err)
		}
		env, _, err := srv.Secrets.Env(ctx, p.ID, "exec")
		if err != nil || strings.Join(env, " ") != "A_KEY=alpha-value B_KEY=bravo value SHARED_KEY=shared-account-value" {
			t.Fatalf("env %v %v", env, err)
		}
		var acct []map[string]any
		if err := owner.Do(ctx, "GET", "/api/me/secrets", nil, "", &acct); err != nil || len(acct) != 1 || acct[0]["projects"].([]any)[0] != p.ID {
			t.Fatalf("account list %v %v", acct, err)
		}
		resp, err := owner.Raw(ctx, "GET", base+"/audit/export", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		csv, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.HasPrefix(csv, []byte("seq,at,action")) || !bytes.Contains(csv, []byte(",reveal,B_KEY,owner@example.test")) {
			t.Fatalf("export:\n%s", csv)
		}
	})
}

// A checkpoint records the secret set (names and versions, no values); a
// restore with secrets: true brings it back, without it leaves secrets alone.
func TestCheckpointRestoresSecretSet(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		rec := &recorder{t: t, c: srv.User(t, "owner")}
		var p struct{ ID string }
		json.Unmarshal(rec.do("POST", "/api/projects", `{"name":"cp","template":"static"}`), &p)
		base := "/api/projects/" + p.ID
		rec.do("PUT", base+"/secrets/A_KEY", `{"value":"first-version"}`)
		var cp struct{ ID string }
		json.Unmarshal(rec.do("POST", base+"/checkpoints", `{"message":"one secret"}`), &cp)
		rec.do("PUT", base+"/secrets/A_KEY", `{"value":"second-version"}`)
		rec.do("PUT", base+"/secrets/B_KEY", `{"value":"added-later"}`)

		stored, err := st.Checkpoint(ctx, p.ID, cp.ID)
		if err != nil || !bytes.Contains(stored.Env, []byte(`"name":"A_KEY","version":1`)) || bytes.Contains(stored.Env, []byte("first-version")) {
			t.Fatalf("checkpoint env %s %v", stored.Env, err)
		}
		reveal := func(name string) string {
			var rv struct{ Value string }
			json.Unmarshal(rec.do("POST", base+"/secrets/"+name+"/reveal", ""), &rv)
			return rv.Value
		}
		rec.do("POST", base+"/checkpoints/"+cp.ID+"/restore", `{"database":false}`)
		if v := reveal("A_KEY"); v != "second-version" {
			t.Fatalf("a restore without secrets changed them: %q", v)
		}
		rec.do("POST", base+"/checkpoints/"+cp.ID+"/restore", `{"database":false,"secrets":true}`)
		if v := reveal("A_KEY"); v != "first-version" {
			t.Fatalf("A_KEY after restoring the set: %q", v)
		}
		var list []map[string]any
		json.Unmarshal(rec.do("GET", base+"/secrets", ""), &list)
		if len(list) != 1 || list[0]["name"] != "A_KEY" {
			t.Fatalf("secrets after restoring the set: %v", list)
		}
	})
}

// The agent asks for a secret it lacks: a secret_request event, the user
// PUTs the value, the model gets only "the user provided NAME", and the
// agent's shell then has the value (masked in what the model sees).
func TestAgentRequestsSecret(t *testing.T) {
	testutil.RequireSandbox(t, testutil.NewSandbox(t))
	fk := fake.NewAnthropic(&fake.Transcript{Name: "secret-request", Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Tool("secrets", map[string]string{"request": "STRIPE_KEY", "reason": "to take payments"}),
		}}},
		{Expect: &fake.Expect{LastResultContains: "The user provided STRIPE_KEY."}, Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{
			fake.Tool("bash", map[string]string{"command": `echo "key: $STRIPE_KEY"`}),
		}}},
		{Expect: &fake.Expect{AnyResultContains: "key: [secret STRIPE_KEY]"}, Respond: fake.Respond{StopReason: "end_turn",
			Content: []fake.Content{fake.Text("Payments are set up.")}}},
	}})
	t.Cleanup(fk.Close)
	srv := testutil.NewServer(t, testutil.NewStore(t, store.SQLite), testutil.ServerOptions{
		Config: func(c *config.Config) { c.AnthropicAPIKey, c.AnthropicBaseURL = "test-key", fk.URL }})
	rec := &recorder{t: t, c: srv.User(t, "owner")}
	var p struct{ ID string }
	json.Unmarshal(rec.do("POST", "/api/projects", `{"name":"pay","template":"static"}`), &p)
	base := "/api/projects/" + p.ID
	first := rec.do("POST", base+"/agent/turns", `{"prompt":"add payments"}`)
	if !bytes.Contains(first, []byte(`"type":"secret_request"`)) || !bytes.Contains(first, []byte(`"name":"STRIPE_KEY"`)) ||
		!bytes.Contains(first, []byte("to take payments")) {
		t.Fatalf("no secret_request event:\n%s", first)
	}
	const value = "sk_test_canary_51234567890"
	rec.do("PUT", base+"/secrets/STRIPE_KEY", `{"value":"`+value+`"}`)
	second := rec.do("POST", base+"/agent/turns", `{"prompt":"The user provided STRIPE_KEY."}`)
	if !bytes.Contains(second, []byte("Payments are set up.")) {
		t.Fatalf("second turn:\n%s", second)
	}
	for _, f := range fk.Failures() {
		t.Error("fake provider:", f)
	}
	for _, r := range fk.Requests() {
		if bytes.Contains(r.Raw, []byte(value)) {
			t.Fatalf("the model got the value: %s", r.Raw)
		}
	}
}
