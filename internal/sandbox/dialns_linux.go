package sandbox

import (
	"context"
	"net"
	"os"
)

// DialInNetns connects to addr (an IP literal or localhost and a port)
// from inside the network namespace netns, as a workspace's DialContext
// does; for tools that hold a namespace of their own (deploybench reaches
// a production sandbox's app with it, without E-Code in between).
func DialInNetns(ctx context.Context, netns *os.File, network, addr string) (net.Conn, error) {
	return dialInNetns(ctx, netns, network, addr)
}
