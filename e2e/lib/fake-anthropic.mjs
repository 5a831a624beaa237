// A tiny stand-in for the Anthropic Messages API (POST /v1/messages, streaming), for browser
// journeys of the AI agent. It answers in the real Server-Sent Events format: the first request
// of a turn gets a text block and one `write` tool call; the request that carries the tool's
// result gets a closing text; a prompt with script.slowWord gets a stream that never ends.
// A prompt with live.word is the live-edit scenario: read live.file, edit it, then wait for
// release() before the closing text (so a test can look at the editor mid-turn).
// Requests are recorded.
import { once } from 'node:events'
import http from 'node:http'

/** The script: what the agent writes, and what it says. */
export const script = {
  intro: "I'll create hello.txt with a greeting.",
  file: 'hello.txt',
  content: 'Hello from the agent\n',
  outro: 'Done: hello.txt now greets you.',
  /** A prompt with this word gets a reply that never ends. */
  slowWord: 'slowly',
  slowText: 'Thinking this through at length',
}

/** The live-edit scenario: the agent edits a file someone has open. */
export const live = {
  word: 'watch me edit',
  file: 'README.md',
  oldString: 'An empty E-Code project.',
  newString: 'An E-Code project the agent edited live.',
  intro: "I'll edit README.md while you watch.",
  outro: 'Done: README.md is updated.',
}

function sse(res, type, data) {
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
}

function textBlock(res, index, text) {
  sse(res, 'content_block_start', { index, content_block: { type: 'text', text: '' } })
  // a few deltas, like a real stream
  for (const part of text.match(/.{1,12}/gs) ?? []) sse(res, 'content_block_delta', { index, delta: { type: 'text_delta', text: part } })
  sse(res, 'content_block_stop', { index })
}

function toolBlock(res, index, id, name, input) {
  sse(res, 'content_block_start', { index, content_block: { type: 'tool_use', id, name, input: {} } })
  const json = JSON.stringify(input)
  for (const part of json.match(/.{1,20}/gs) ?? []) sse(res, 'content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } })
  sse(res, 'content_block_stop', { index })
}

function toolResults(body) {
  return (body.messages ?? []).flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === 'tool_result').length
}

function finish(res, stop) {
  sse(res, 'message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 60 } })
  sse(res, 'message_stop', {})
  res.end()
}

async function answerLive(res, body, n, held) {
  const results = toolResults(body)
  if (results === 0) {
    textBlock(res, 0, live.intro)
    toolBlock(res, 1, `toolu_${n}`, 'read', { file_path: live.file })
    return finish(res, 'tool_use')
  }
  if (results === 1) {
    toolBlock(res, 0, `toolu_${n}`, 'edit', { file_path: live.file, old_string: live.oldString, new_string: live.newString })
    return finish(res, 'tool_use')
  }
  await held
  textBlock(res, 0, live.outro)
  finish(res, 'end_turn')
}

function answer(res, body, n, held) {
  const last = body.messages?.[body.messages.length - 1]
  const hasResult = Array.isArray(last?.content) && last.content.some((b) => b.type === 'tool_result')
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'request-id': `req_${n}` })
  sse(res, 'message_start', {
    message: {
      id: `msg_${n}`, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: 1200, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  })
  const text = typeof last?.content === 'string' ? last.content : (last?.content ?? []).map((b) => b.text ?? '').join('')
  const first = body.messages?.find((m) => m.role === 'user')
  const prompt = typeof first?.content === 'string' ? first.content : (first?.content ?? []).map((b) => b.text ?? '').join('')
  if (prompt.includes(live.word)) return answerLive(res, body, n, held)
  if (text.includes(script.slowWord)) {
    // starts answering, then holds the stream until the client gives up (the user pressed Stop)
    sse(res, 'content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
    sse(res, 'content_block_delta', { index: 0, delta: { type: 'text_delta', text: script.slowText } })
    return
  }
  let stop
  if (!hasResult) {
    textBlock(res, 0, script.intro)
    toolBlock(res, 1, `toolu_${n}`, 'write', { file_path: script.file, content: script.content })
    stop = 'tool_use'
  } else {
    textBlock(res, 0, script.outro)
    stop = 'end_turn'
  }
  sse(res, 'message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 60 } })
  sse(res, 'message_stop', {})
  res.end()
}

/** Starts the fake on a free loopback port: { url, requests, close() }. */
export async function startFakeAnthropic({ apiKey = 'test-key' } = {}) {
  const requests = []
  let release
  const held = new Promise((resolve) => { release = resolve })
  const server = http.createServer(async (req, res) => {
    let raw = ''
    for await (const chunk of req) raw += chunk
    const key = req.headers['x-api-key'] ?? (req.headers.authorization ?? '').replace(/^Bearer /, '')
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }))
      return
    }
    if (key !== apiKey) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }))
      return
    }
    const body = JSON.parse(raw)
    requests.push(body)
    answer(res, body, requests.length, held)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Lets the live-edit scenario finish its turn. */
    release: () => release(),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
