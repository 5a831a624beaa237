package runner

import (
	"testing"
)

func TestLogKeepsTailAndOffsets(t *testing.T) {
	l := NewLog(8)
	l.Write([]byte("hello "))
	data, next, wait, done := l.ReadFrom(0)
	if string(data) != "hello " || next != 6 || done {
		t.Fatalf("first read: %q %d %v", data, next, done)
	}
	l.Write([]byte("world!"))
	select {
	case <-wait:
	default:
		t.Fatal("a write did not wake the reader")
	}
	data, next, _, _ = l.ReadFrom(next)
	if string(data) != "world!" || next != 12 {
		t.Fatalf("resume: %q %d", data, next)
	}
	// Offset 0 is gone: the reader skips to the oldest kept byte.
	data, _, _, _ = l.ReadFrom(0)
	if string(data) != "o world!" {
		t.Fatalf("tail = %q", data)
	}
	l.Close()
	_, _, _, done = l.ReadFrom(12)
	if !done {
		t.Fatal("closed log not done")
	}
}
