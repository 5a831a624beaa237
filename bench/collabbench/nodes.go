package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"ecode/bench/internal/benchsrv"
)

// runNodes is -nodes: the same clients typing into one document, all on
// one node beside split evenly over three nodes (real servers sharing one
// PostgreSQL, one Redis and one data directory, so that edits between
// clients on different nodes go through the Redis relay), in the same
// run, alternating which goes first; it prints the medians and the ratios.
func runNodes(ctx context.Context, nodeDir, pg, redis string, clients, edits, rate, runs int) error {
	if pg == "" {
		return fmt.Errorf("-nodes needs --database-url (or ECODE_TEST_POSTGRES_URL): nodes share PostgreSQL")
	}
	dbURL, drop, err := benchsrv.Schema(pg, "collabbench")
	if err != nil {
		return err
	}
	defer drop()
	dir, err := os.MkdirTemp("", "collabbench-nodes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711) // sandboxes run as their own uids
	var addrs []string
	for _, id := range []string{"n1", "n2", "n3"} {
		srv, err := benchsrv.StartNode(ctx, "collabbench", id, dir, dbURL, redis)
		if err != nil {
			return err
		}
		defer srv.Stop()
		addrs = append(addrs, srv.Addr)
	}
	srv := &benchsrv.Server{Addr: addrs[0]}
	c, err := srv.SignUp(ctx, nil)
	if err != nil {
		return err
	}
	s := &ecodeServer{c: c, addr: addrs[0]}
	if err := s.setUp(ctx); err != nil {
		return err
	}
	url := func(addr string) string { return "ws://" + addr + "/api/projects/" + s.project + "/collab" }
	three := make([]string, len(addrs))
	for i, a := range addrs {
		three[i] = url(a)
	}
	cases := []struct {
		name string
		urls string
		res  []result
	}{{"one node", url(addrs[0]), nil}, {"three nodes", strings.Join(three, ","), nil}}
	fmt.Printf("collabbench -nodes: %d clients, %d edits each at %d/s, one document; latency = edit to every other client; medians of %d runs\n\n",
		clients, edits, rate, runs)
	for i := range runs {
		order := []int{0, 1}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			room := fmt.Sprintf("nodes-%d-%d.txt", i, k)
			if err := s.c.WriteFile(ctx, s.project, room, nil); err != nil {
				return err
			}
			r, err := bench(ctx, nodeDir, []string{"--clients", fmt.Sprint(clients), "--edits", fmt.Sprint(edits),
				"--rate", fmt.Sprint(rate), "--room", room, "--url", cases[k].urls, "--token", s.token})
			if err != nil {
				return fmt.Errorf("%s: %w", cases[k].name, err)
			}
			cases[k].res = append(cases[k].res, r)
		}
	}
	one, split := median(cases[0].res), median(cases[1].res)
	fmt.Printf("%-12s %10s %9s %9s %9s %9s %10s\n", "clients on", "edits/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "converged")
	for _, x := range []struct {
		name string
		r    result
	}{{"one node", one}, {"three nodes", split}} {
		fmt.Printf("%-12s %10.0f %9.1f %9.1f %9.1f %9.1f %10v\n", x.name, x.r.rate(), x.r.P50, x.r.P90, x.r.P99, x.r.Max, x.r.Converged)
	}
	fmt.Printf("%-12s %10.2f %9.2f %9.2f %9.2f\n\nratio is three nodes / one node (latency: lower is better, 1 is free; edits/s: 1 is free).\n",
		"ratio", split.rate()/one.rate(), split.P50/one.P50, split.P90/one.P90, split.P99/one.P99)
	return nil
}
