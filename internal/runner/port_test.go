package runner

import "testing"

func TestLowestListeningPort(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0C38 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:2231 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 100 0 0 10 0
   3: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4 1 0000000000000000 100 0 0 10 0
   4: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5 1 0000000000000000 100 0 0 10 0
`
	// 0x0C38 = 3128 and 0x1538 = 5432 (the platform's proxies, skipped), 0x2231 = 8753,
	// 0x0050 = 80 (< 1024), 0x1F90 = 8080 (established, not listening).
	if got := lowestListeningPort(table, 1024, []int{3128, 5432}); got != 8753 {
		t.Errorf("got %d, want 8753", got)
	}
	if got := lowestListeningPort(table, 1024, []int{3128}); got != 5432 {
		t.Errorf("without 5432 reserved: got %d, want 5432 (the test table is wrong)", got)
	}
	if got := lowestListeningPort("", 1024, nil); got != 0 {
		t.Errorf("empty table: %d", got)
	}
}
