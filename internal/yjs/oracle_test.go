package yjs

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

const oracleDir = "testdata/oracle"

// oracle is a running `node oracle.mjs` answering JSON lines.
type oracle struct {
	t   testing.TB
	in  *json.Encoder
	out *bufio.Scanner
}

// startOracle starts the yjs oracle. Without node or the npm packages the
// test fails, unless ECODE_SKIP_NODE=1 asks to skip it.
func startOracle(t testing.TB) *oracle {
	t.Helper()
	if os.Getenv("ECODE_SKIP_NODE") == "1" {
		t.Skip("ECODE_SKIP_NODE=1: skipping the differential test against real yjs")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found in PATH: the differential test needs Node.js (set ECODE_SKIP_NODE=1 to skip it)")
	}
	if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", "yjs", "package.json")); err != nil {
		t.Fatalf("yjs oracle not installed: run `npm ci` in internal/yjs/%s (or set ECODE_SKIP_NODE=1 to skip this test)", oracleDir)
	}
	cmd := exec.Command(node, "oracle.mjs")
	cmd.Dir = oracleDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	return &oracle{t: t, in: json.NewEncoder(stdin), out: sc}
}

func (o *oracle) call(req, resp any) {
	o.t.Helper()
	if err := o.in.Encode(req); err != nil {
		o.t.Fatal(err)
	}
	if !o.out.Scan() {
		o.t.Fatalf("oracle exited: %v", o.out.Err())
	}
	if err := json.Unmarshal(o.out.Bytes(), resp); err != nil {
		o.t.Fatal(err)
	}
}

type genCase struct {
	Error         string   `json:"error"`
	Updates       []string `json:"updates"`
	Order         []int    `json:"order"`
	Text          string   `json:"text"`
	UTF16Len      int      `json:"utf16Len"`
	SV            string   `json:"sv"`
	State         string   `json:"state"`
	ShuffledText  string   `json:"shuffledText"`
	ShuffledState string   `json:"shuffledState"`
	Emitted       []string `json:"emitted"`
	MidState      string   `json:"midState"`
}

type checkResult struct {
	Error   *string `json:"error"`
	Text    string  `json:"text"`
	SV      string  `json:"sv"`
	State   string  `json:"state"`
	Pending bool    `json:"pending"`
}

func (o *oracle) check(updates [][]byte, gc bool) checkResult {
	hx := make([]string, len(updates))
	for i, u := range updates {
		hx[i] = hex.EncodeToString(u)
	}
	var r checkResult
	o.call(map[string]any{"op": "check", "updates": hx, "gc": gc}, &r)
	return r
}

func decodeHexList(t *testing.T, hs []string) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

var goAlphabet = []string{"x", "Ω", "🎉", "\n", "go", "日本", "👩‍💻"}

// randomLocalEdits makes n random local edits on d as client and returns
// the updates they produced.
func randomLocalEdits(t *testing.T, d *Doc, r *rand.Rand, n int, client uint64) [][]byte {
	var out [][]byte
	for k := 0; k < n; k++ {
		l := d.TextLen("t")
		var u []byte
		var err error
		if l > 0 && r.IntN(3) == 0 {
			i := r.IntN(l)
			u, err = d.DeleteText("t", i, 1+r.IntN(min(3, l-i)), client)
		} else {
			u, err = d.InsertText("t", r.IntN(l+1), goAlphabet[r.IntN(len(goAlphabet))], client)
		}
		if err != nil {
			t.Fatal(err)
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out
}

func TestDifferentialYjs(t *testing.T) {
	t.Parallel()
	o := startOracle(t)
	seeds := 200
	if s := os.Getenv("ECODE_YJS_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		seeds = 60
	}
	byteMismatch := 0
	for seed := 1; seed <= seeds; seed++ {
		gc := seed%3 != 0
		mixed := seed%2 == 0
		var c genCase
		o.call(map[string]any{"op": "gen", "seed": seed, "gc": gc, "mixed": mixed}, &c)
		if c.Error != "" {
			t.Fatalf("seed %d: oracle: %s", seed, c.Error)
		}
		ups := decodeHexList(t, c.Updates)
		differentialCase(t, o, seed, gc, &c, ups, &byteMismatch)
		if t.Failed() {
			t.Fatalf("seed %d failed (gc=%v mixed=%v)", seed, gc, mixed)
		}
	}
	t.Logf("%d seeds, %d byte mismatches", seeds, byteMismatch)
	if byteMismatch > 0 {
		t.Errorf("%d encoded states differ byte-wise from yjs", byteMismatch)
	}
}

func differentialCase(t *testing.T, o *oracle, seed int, gc bool, c *genCase, ups [][]byte, byteMismatch *int) {
	newDoc := func() *Doc { d := NewDoc(); d.SetGC(gc); return d }
	// 1. production order
	a := newDoc()
	for _, u := range ups {
		mustApply(t, a, u)
	}
	if a.Text("t") != c.Text || a.TextLen("t") != c.UTF16Len {
		t.Fatalf("seed %d in order: text %q (len %d), yjs %q (len %d)", seed, a.Text("t"), a.TextLen("t"), c.Text, c.UTF16Len)
	}
	if got := hex.EncodeToString(a.StateVector()); got != c.SV || a.HasPending() {
		t.Fatalf("seed %d: sv %s want %s, pending %v", seed, got, c.SV, a.HasPending())
	}
	if got := hex.EncodeToString(state(t, a)); got != c.State {
		*byteMismatch++
		t.Errorf("seed %d: state differs from yjs\n got %s\nwant %s", seed, got, c.State)
	}
	// 2. shuffled delivery with duplicates
	b := newDoc()
	for step, i := range c.Order {
		em, err := b.ApplyUpdateEmit(ups[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(em); got != c.Emitted[step] {
			*byteMismatch++
			t.Errorf("seed %d step %d: emitted update differs from yjs\n got %s\nwant %s", seed, step, got, c.Emitted[step])
		}
		if step == len(c.Order)/2 {
			if got := hex.EncodeToString(state(t, b)); got != c.MidState {
				*byteMismatch++
				t.Errorf("seed %d step %d: state (pending %v) differs from yjs\n got %s\nwant %s", seed, step, b.HasPending(), got, c.MidState)
			}
		}
	}
	// (compared with yjs's replica that got the same delivery order: cutting
	// surrogate pairs depends on the history, so yjs replicas can differ)
	if b.Text("t") != c.ShuffledText || b.HasPending() {
		t.Fatalf("seed %d shuffled: text %q want %q, pending %v", seed, b.Text("t"), c.ShuffledText, b.HasPending())
	}
	if got := hex.EncodeToString(state(t, b)); got != c.ShuffledState {
		*byteMismatch++
		t.Errorf("seed %d: shuffled state differs from yjs\n got %s\nwant %s", seed, got, c.ShuffledState)
	}
	// 3. Go edits concurrently as another client, halfway through delivery
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	goClient := uint64(1)<<40 + uint64(seed)
	// (yjs gets the same sequence: where surrogate pairs are cut depends on
	// the history)
	g := newDoc()
	var seq [][]byte
	half := len(c.Order) / 2
	for _, i := range c.Order[:half] {
		mustApply(t, g, ups[i])
		seq = append(seq, ups[i])
	}
	seq = append(seq, randomLocalEdits(t, g, r, 1+r.IntN(8), goClient)...)
	for _, i := range c.Order[half:] {
		mustApply(t, g, ups[i])
		seq = append(seq, ups[i])
	}
	seq = append(seq, randomLocalEdits(t, g, r, r.IntN(4), goClient)...)
	want := g.Text("t")
	res := o.check(seq, gc)
	if res.Error != nil || res.Text != want || res.Pending {
		t.Fatalf("seed %d: yjs applying JS+Go updates: err %v text %q, Go %q, pending %v", seed, res.Error, res.Text, want, res.Pending)
	}
	full := state(t, g)
	res = o.check([][]byte{full}, gc)
	if res.Error != nil || res.Text != want || res.Pending {
		t.Fatalf("seed %d: yjs applying Go state: err %v text %q, Go %q, pending %v", seed, res.Error, res.Text, want, res.Pending)
	}
	if got := hex.EncodeToString(full); got != res.State {
		*byteMismatch++
		t.Errorf("seed %d: Go state re-encoded by yjs differs\n got %s\nwant %s", seed, got, res.State)
	}
	// 4. diff against a prefix peer
	k := r.IntN(len(ups) + 1)
	p := newDoc()
	for _, u := range ups[:k] {
		mustApply(t, p, u)
	}
	diff, err := g.EncodeStateAsUpdate(p.StateVector())
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, p, diff)
	res = o.check(append(append([][]byte{}, ups[:k]...), diff), gc)
	if res.Error != nil || res.Text != p.Text("t") || res.Pending {
		t.Fatalf("seed %d: yjs prefix(%d)+diff: err %v text %q, Go %q", seed, k, res.Error, res.Text, p.Text("t"))
	}
	if !bytes.Equal(p.StateVector(), g.StateVector()) || p.HasPending() {
		t.Fatalf("seed %d: Go prefix+diff: sv %x want %x", seed, p.StateVector(), g.StateVector())
	}
	if got := hex.EncodeToString(state(t, p)); got != res.State {
		*byteMismatch++
		t.Errorf("seed %d: prefix+diff state differs from yjs\n got %s\nwant %s", seed, got, res.State)
	}
}
