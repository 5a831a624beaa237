package yjs

import (
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// mutateOrigins rewrites some cross-client origins and right origins of the
// updates to other existing ids: well-formed updates that no yjs client
// would produce, to compare how Go and yjs integrate odd input.
func mutateOrigins(t *testing.T, r *rand.Rand, ups [][]byte, sv StateVector) [][]byte {
	var clients []uint64
	for c := range sv {
		clients = append(clients, c)
	}
	randomID := func(not uint64) (ID, bool) {
		c := clients[r.IntN(len(clients))]
		if c == not || sv[c] == 0 {
			return ID{}, false
		}
		return ID{c, r.Uint64N(sv[c])}, true
	}
	out := make([][]byte, 0, len(ups))
	for _, b := range ups {
		u, err := DecodeUpdate(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range u.Groups {
			for _, it := range g.Structs {
				if it.Kind != KindItem {
					continue
				}
				if it.HasOrigin && it.Origin.Client != it.ID.Client && r.IntN(4) == 0 {
					if id, ok := randomID(it.ID.Client); ok {
						it.Origin = id
					}
				}
				if it.HasRightOrigin && it.RightOrigin.Client != it.ID.Client && r.IntN(4) == 0 {
					if id, ok := randomID(it.ID.Client); ok {
						it.RightOrigin = id
					}
				}
			}
		}
		out = append(out, u.Encode())
	}
	return out
}

// TestDifferentialOddOrigins feeds the same well-formed but inconsistent
// updates to Go and yjs: both must end with the same state.
func TestDifferentialOddOrigins(t *testing.T) {
	t.Parallel()
	o := startOracle(t)
	seeds := 60
	if testing.Short() {
		seeds = 20
	}
	if s := os.Getenv("ECODE_YJS_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	compared := 0
	for seed := 1; seed <= seeds; seed++ {
		gc := seed%2 == 0
		var c genCase
		o.call(map[string]any{"op": "gen", "seed": 10000 + seed, "gc": gc, "mixed": seed%3 == 0}, &c)
		ups := decodeHexList(t, c.Updates)
		sv, err := DecodeStateVector(mustHex(c.SV))
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		mut := mutateOrigins(t, r, ups, sv)
		res := o.check(mut, gc)
		if res.Error != nil {
			continue // yjs itself throws on some of these
		}
		d := NewDoc()
		d.SetGC(gc)
		for _, u := range mut {
			if err := d.ApplyUpdate(u); err != nil {
				t.Fatalf("seed %d: Go rejected an update yjs accepted: %v", seed, err)
			}
		}
		compared++
		if d.Text("t") != res.Text || d.HasPending() != res.Pending {
			t.Fatalf("seed %d: text %q pending %v, yjs %q pending %v", seed, d.Text("t"), d.HasPending(), res.Text, res.Pending)
		}
		if got := hex.EncodeToString(state(t, d)); got != res.State {
			t.Fatalf("seed %d: state differs\n got %s\nwant %s", seed, got, res.State)
		}
	}
	t.Logf("%d of %d mutated cases compared (yjs threw on the rest)", compared, seeds)
}
