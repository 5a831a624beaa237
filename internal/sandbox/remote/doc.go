// Package remote runs a workspace's commands in another machine's process,
// such as a Kubernetes pod, and gives the node that owns the workspace a
// sandbox.Workspace for it.
//
// Serve is the agent: E-Code's own binary started as `ecode sandbox-agent`
// inside the pod. The pod is the isolation boundary, so the agent runs
// commands directly (os/exec through sandbox.None), each in its own session
// that is killed as a whole, in a clean environment rooted at
// ServerOptions.Root; with ServerOptions.UID the agent stays root and runs
// them as that uid (see ServerOptions). Dial is the node side; it dials
// again in the background whenever the connection drops.
//
// # Protocol
//
// A workspace uses one TCP connection. It opens with a mutual HMAC-SHA256
// challenge–response over the shared token: the node sends a magic line and
// a nonce, the agent answers with its nonce and a MAC proving it holds the
// token, the node answers with its own MAC; either side closes on a wrong
// MAC, and the token itself never crosses the wire. The connection is then
// multiplexed with yamux: one stream per operation (exec, start, pty, dial,
// killall, usage). yamux was chosen over HTTP/2 cleartext because its
// streams are plain net.Conns with flow control, so a dial is just a stream
// after its first frames, and it adds no HTTP machinery to the agent.
//
// Every stream starts with frames: a byte of type, a big-endian uint32
// length and at most 64 KiB of payload. The node sends a header frame
// (JSON request) and then stdin, stdin-EOF, resize, signal and kill
// frames; the agent answers with a started or error frame, then stdout and
// stderr frames, and last an exit frame (JSON Result), so the exit status
// always follows all output. A dial stream switches to raw bytes after the
// agent's ok frame.
//
// A stream that goes away kills its process; a dropped connection ends
// every operation on it with ErrConnLost; the Workspace dials again at once
// (with backoff while the agent cannot be reached) until it is closed.
package remote
