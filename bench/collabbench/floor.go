package main

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// The write floor: what the kernel alone charges a server that sends every
// edit to every client as a message of its own, as both servers do at a
// low rate. Each client's message is one write system call on a loopback
// TCP socket, and on loopback the sending thread also does the receiving
// side's TCP work and wakes the reader, so its CPU is the floor of any
// server's CPU per edit at that fan-out (reading the edit, applying it and
// logging it come on top).

// floorMessage is the size of the message written to each client: a
// one-character Yjs update as y-websocket frames it (sync message type,
// update type, length, the update) in a WebSocket frame, about 30 to 40
// bytes in the bench's document.
const floorMessage = 40

// writeFloor measures the CPU time one thread spends writing a
// floorMessage-byte message to each of n loopback TCP connections, per
// round (per edit), over rounds rounds. The readers drain on other
// threads and are not counted. Rounds are a millisecond apart, as edits
// come in at the bench's rates, so each write finds its reader asleep and
// wakes it (back to back, the readers would still be awake: cheaper).
func writeFloor(n, rounds int) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	drained := make(chan error, n)
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return 0, err
		}
		conns = append(conns, c)
		peer, err := ln.Accept()
		if err != nil {
			return 0, err
		}
		go func() {
			_, err := io.Copy(io.Discard, peer)
			peer.Close()
			drained <- err
		}()
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	msg := make([]byte, floorMessage)
	t0, err := threadCPU()
	if err != nil {
		return 0, err
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for range rounds {
		<-tick.C
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				return 0, err
			}
		}
	}
	t1, err := threadCPU()
	if err != nil {
		return 0, err
	}
	for _, c := range conns {
		c.Close()
	}
	for range n {
		if err := <-drained; err != nil {
			return 0, fmt.Errorf("write floor: a reader: %w", err)
		}
	}
	conns = nil
	return (t1 - t0) / time.Duration(rounds), nil
}

// threadCPU is the CPU time (user and system) of the calling OS thread.
func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// printFloor prints the write floor at clients connections beside the
// reference's CPU per edit (µs) of the same run.
func printFloor(clients string, reference float64) error {
	n, err := strconv.Atoi(clients)
	if err != nil {
		return err
	}
	f, err := writeFloor(n, max(200, 10000/n))
	if err != nil {
		return err
	}
	us := float64(f.Nanoseconds()) / 1e3
	fmt.Printf("%-8s write floor: %.1f µs/edit (one %d-byte loopback write to each of %d clients), %.2f of the reference's cpu per edit\n\n",
		clients, us, floorMessage, n, us/reference)
	return nil
}
