// Package collab is the live-collaboration server: the y-websocket protocol
// (sync step 1/2 and update, awareness, query-awareness) for one Yjs
// document per project file, whose text is the Y.Text named "content".
//
// A Hub keeps one room per open document. A room is an actor: a single
// goroutine owns the yjs.Doc, the awareness states and the connections, and
// handles, in order, joins, leaves, client messages, messages from other
// nodes, file checks and timers. Each connection has a reader (decoding and
// rate limiting before anything reaches the room) and a writer with a
// bounded queue. A client too slow to drain it is not disconnected: its
// missed document updates and awareness are coalesced into one update of
// the whole state, sent once its queue is empty (room.resync).
//
// The server's document is the source of truth while a file is open:
//
//   - Loading: the store's snapshot plus update log. The first open seeds
//     the document from the file as one update of the fixed client
//     ServerClientID; the seed is stored before use under the document's
//     primary key, so concurrent seeding (several nodes) agrees on one seed.
//   - Every accepted update is appended to the store's log before anything
//     acknowledges it: the sender's echo, viewers, other nodes, clients
//     joining, Flushed and the file wait for the log. The other editors get
//     it at once, while it is being logged (or, with Options.BroadcastWindow,
//     at the end of a short window, joined with the others' updates of the
//     window into one message per editor): a provider hands back what the
//     server lacks when it reconnects, so an update an editor saw survives
//     the node dying before logging it. Updates are logged in batches,
//     one transaction each (Options.LogDelay, LogBatch; a longer window,
//     EditorsLogDelay, while only the senders' echoes wait: no other node
//     has the room open and no viewer is in it). The log is
//     compacted into a snapshot every Options.CompactEvery updates.
//   - The text is written to the file debounced (Options.FlushDelay) and
//     atomically by the node holding the document's flush lease (a row in
//     the store renewed every Options.PollInterval), which also watches the
//     file (size, mtime and inode, every PollInterval) and takes changes
//     made elsewhere (a run, the agent, a PUT /files, see Hub.FileChanged).
//     Such a change is turned into a Yjs update made against the document
//     state last written to disk (a "base" document), so edits typed since
//     then are merged with it instead of being overwritten.
//   - The store records SHA-256 of the texts the document wrote, so a
//     restarted server can tell its own writes from changes made while the
//     file was closed.
//   - The AI agent's writes to an open file are live edits (Hub.AgentEdit):
//     diffed against the base like a change on disk, made by a Yjs client of
//     the agent's own (AgentClientID: stable, above 2^32 so never a
//     browser's), logged, broadcast and written before AgentEdit returns.
//     The agent's awareness state {"user": {name, color}, "cursor": {anchor,
//     head}} (Y.RelativePosition JSON, as y-codemirror.next reads it) puts
//     a labelled cursor after its last change, until the turn ends
//     (Hub.AgentDone) or Options.AgentIdle passes without edits.
//
// Several nodes share the store; with a Redis URL each room subscribes to a
// channel of its own and, while another node has the room open (it says
// so on the channel, see room_peers.go), relays its logged updates (with
// their log sequence numbers) and awareness changes. A room reads the
// missing updates from the store's log when it sees a gap in the sequence,
// when its inbox had no space for a relayed update, when the sender could
// not publish one (it says so on the channel once Redis answers again),
// and after its node's subscription restarted on a new connection (see
// redisBus), and every Options.CatchUpEvery anyway: Redis losing an update
// delays it but never loses it. Lost awareness is not recovered; clients
// renew theirs every 15 s.
//
// Close codes: 1003 text frame or message of unknown type, 1007 malformed
// message or update, 1008 message rate exceeded, 1009 message or document
// too large, 1011 server error (the room is reloaded), 1013 the client did
// not read fast enough even with its updates coalesced (the state is over
// MaxResyncBytes, or 64 other messages piled up), 1001 server shutting down, 4404 the file was
// deleted, 4415 the file is not UTF-8 text. Viewers receive everything; a
// document update from a viewer is dropped and answered with an auth
// "permission denied" message (y-websocket logs it), the connection stays.
package collab
