package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"ecode/internal/cluster"
	"ecode/internal/config"
	"ecode/internal/store"
)

const nodesUsage = `usage: ecode nodes [list] [server flags]      the nodes sharing the database
       ecode nodes drain NODE [server flags]  move NODE's projects to the other nodes`

// nodesCommand is ecode nodes: the nodes of a cluster, read from (and a
// drain written to) the database the servers share.
func nodesCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub := "list"
	if len(args) > 0 && (args[0] == "list" || args[0] == "drain") {
		sub, args = args[0], args[1:]
	}
	var id string
	if sub == "drain" {
		if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
			return errors.New(nodesUsage)
		}
		id, args = args[0], args[1:]
	}
	cfg, err := config.Load("ecode nodes "+sub, args, getenv)
	if err != nil {
		return err
	}
	st, err := openCurrent(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "drain" {
		if err := cluster.Drain(ctx, st, id); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no node %q (ecode nodes lists them)", id)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "node %s is draining: its projects move to the other nodes\n", id)
		return nil
	}
	now := time.Now()
	nodes, err := cluster.Nodes(ctx, st, now)
	if err != nil {
		return err
	}
	if len(nodes) == 0 {
		fmt.Fprintln(stdout, "no nodes: servers register when started with --internal-addr")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tALIVE\tPROJECTS\tLAST HEARTBEAT")
	for _, n := range nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%s ago\n", n.ID, n.Address, n.State, n.Alive, n.Projects,
			now.Sub(n.HeartbeatAt).Round(time.Second))
	}
	return tw.Flush()
}
