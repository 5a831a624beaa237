//go:build !linux

package sandbox

import (
	"context"
	"net"
	"os"
)

// DialInNetns needs Linux.
func DialInNetns(ctx context.Context, netns *os.File, network, addr string) (net.Conn, error) {
	return nil, errNotLinux
}
