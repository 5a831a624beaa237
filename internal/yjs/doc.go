// Package yjs is a Yjs-compatible CRDT core for the E-Code collaboration server.
//
// It speaks the binary formats of the JavaScript yjs library (version 13.6,
// update format v1): lib0 primitives (lib0.go, any.go), updates with all
// struct and content kinds (item.go, content.go, update.go), delete sets
// and state vectors. A Doc (ydoc.go) integrates updates with the same YATA
// algorithm as yjs (driver.go, integrate.go): item splitting, UTF-16 length
// semantics (a cut surrogate pair becomes two U+FFFD, as in yjs), garbage
// collection of deleted content, merging of adjacent structs (txn.go,
// store.go) and pending structs/deletes that wait for missing dependencies
// (merge.go ports the part of yjs mergeUpdates that decides how parked
// updates combine). The result is byte-identical to yjs: encoded states,
// state vectors and the update emitted per transaction are compared with
// the real library by TestDifferentialYjs (see testdata/oracle).
//
// Any root name and any shared type are handled at the struct level; Text
// reads a root as Y.Text, and InsertText, DeleteText, ReplaceText and
// ApplyEdits (with Diff) edit it locally, returning the update to
// broadcast. Positions are UTF-16 code units, like yjs and CodeMirror.
//
// Decoding never panics on hostile input: malformed bytes yield errors and
// Doc.ApplyUpdate decodes and validates the whole update before it mutates
// anything, so a rejected update leaves the document unchanged. Updates
// that are well-formed but odd are handled like yjs handles them (an item
// whose parent id is not a shared type, or whose neighbour was garbage
// collected, becomes a GC struct; a client group repeated in one update
// replaces the earlier one). Deliberate differences, all for input no yjs
// client produces: an update whose item references its own client's
// future clock is rejected (yjs throws half-way); empty structs are
// rejected; when parked structs overlap integrated ones, EncodeStateAsUpdate
// sends the integrated version (yjs may send the parked copy); a partially
// known item whose known part was garbage collected becomes GC (yjs throws).
//
// A Doc is not safe for concurrent use; callers serialise access (the
// server owns each document from a single goroutine).
//
// The y-protocols message codec (sync, awareness, auth) lives in the
// protocol subpackage.
package yjs
