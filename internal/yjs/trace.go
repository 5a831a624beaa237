package yjs

import "math/rand/v2"

// SyntheticTrace makes an editing session of n single-character edits by
// one client, one update each: typing runs at a cursor that sometimes
// jumps, about 20% backspaces, some multi-unit characters. It returns the
// updates and the final text of the Y.Text "t". The same n gives the same
// trace (benchmarks replay it here and under yjs).
func SyntheticTrace(n int) ([][]byte, string, error) {
	r := rand.New(rand.NewPCG(1, 2))
	d := NewDoc()
	const client = 7
	letters := []string{"a", "e", "t", " ", "\n", "o", "é", "😀"}
	cursor := 0
	ups := make([][]byte, 0, n)
	for range n {
		if r.IntN(50) == 0 {
			cursor = r.IntN(d.TextLen("t") + 1)
		}
		var u []byte
		var err error
		if cursor > 0 && r.IntN(5) == 0 {
			u, err = d.DeleteText("t", cursor-1, 1, client)
			cursor--
		} else {
			s := letters[r.IntN(len(letters))]
			u, err = d.InsertText("t", cursor, s, client)
			cursor += UTF16Len(s)
		}
		if err != nil {
			return nil, "", err
		}
		ups = append(ups, u)
	}
	return ups, d.Text("t"), nil
}
