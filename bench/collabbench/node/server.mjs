// The reference server: @y/websocket-server in memory, in a process of its
// own (as E-Code's server is), so that neither server shares an event loop
// or a process with the typing clients. Prints its ws:// URL on one line,
// then serves until stdin closes (the parent ended).
import http from 'node:http'
import { WebSocketServer } from 'ws'
import { setupWSConnection } from '@y/websocket-server/utils'

const server = http.createServer()
const wss = new WebSocketServer({ server })
wss.on('connection', (ws, req) => setupWSConnection(ws, req))
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ws://127.0.0.1:${server.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
