package sandbox

import (
	"context"
	"net"
	"os"
	"sync"
)

// Listeners keeps one listener per workspace inside its sandbox's network
// namespace, for services a NetworkSetup hook offers to the sandbox (an
// egress proxy, a database proxy). Setup is the hook: it listens on Addr in
// the new sandbox and replaces the listener of the workspace's previous
// sandbox. Listen defaults to ListenInNetns.
type Listeners struct {
	Addr   string
	Serve  func(l net.Listener, workspaceID string) // runs until l is closed
	Listen func(netns *os.File, network, addr string) (net.Listener, error)

	mu sync.Mutex
	m  map[string]net.Listener
	wg sync.WaitGroup
}

// Setup opens the workspace's listener in netns and serves it.
func (ls *Listeners) Setup(_ context.Context, workspaceID string, netns *os.File) error {
	listen := ls.Listen
	if listen == nil {
		listen = ListenInNetns
	}
	l, err := listen(netns, "tcp", ls.Addr)
	if err != nil {
		return err
	}
	ls.Attach(workspaceID, l)
	return nil
}

// Attach serves l, a listener opened elsewhere (e.g. a tunnel from a
// workspace pod), as the workspace's listener, replacing its previous one.
func (ls *Listeners) Attach(workspaceID string, l net.Listener) {
	ls.mu.Lock()
	if ls.m == nil {
		ls.m = map[string]net.Listener{}
	}
	old := ls.m[workspaceID]
	ls.m[workspaceID] = l
	ls.mu.Unlock()
	if old != nil {
		old.Close()
	}
	ls.wg.Go(func() { ls.Serve(l, workspaceID) })
}

// Forget closes the listener of a workspace whose sandbox has ended.
func (ls *Listeners) Forget(workspaceID string) {
	ls.mu.Lock()
	l := ls.m[workspaceID]
	delete(ls.m, workspaceID)
	ls.mu.Unlock()
	if l != nil {
		l.Close()
	}
}

// Close closes every listener and waits for their Serve calls to return.
func (ls *Listeners) Close() {
	ls.mu.Lock()
	for id, l := range ls.m {
		l.Close()
		delete(ls.m, id)
	}
	ls.mu.Unlock()
	ls.wg.Wait()
}
