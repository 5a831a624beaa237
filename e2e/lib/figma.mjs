// A Figma test document built here and a fake Figma REST API serving it on loopback
// (GET /v1/files/:key, GET /v1/images/:key and the render URLs it hands out), with the
// X-Figma-Token check of the real one.
import { createServer } from 'node:http'
import { once } from 'node:events'

const solid = (r, g, b, a = 1) => [{ type: 'SOLID', color: { r, g, b, a } }]
const rect = (x, y, width, height) => ({ x, y, width, height })

/** Boxes of the key layers relative to the Landing frame, as Figma lays them out. */
export const expected = {
  '1:2': rect(0, 0, 400, 330), // Landing (vertical auto-layout, padding 24, gap 16)
  '1:3': rect(24, 24, 352, 40), // Header (row, space between, fill width, hug height)
  '1:4': rect(24, 24, 40, 40), // Logo (image)
  '1:5': rect(108, 32, 24, 24), // Icon (vector, centred on the cross axis)
  '1:6': rect(176, 24, 200, 40), // Title (text)
  '1:7': rect(24, 80, 352, 120), // Card (absolutely placed children)
  '1:8': rect(40, 96, 60, 24), // Badge
  '1:9': rect(40, 136, 200, 24), // Caption
  '1:10': rect(24, 216, 352, 40), // Buttons (row, gap 12)
  '1:11': rect(24, 216, 170, 40), // Buy (instance, fill)
  '1:12': rect(206, 216, 170, 40), // Cancel (instance, fill)
}

/** Colours as getComputedStyle prints them. */
export const colours = {
  '1:2': 'rgb(255, 255, 255)',
  '1:8': 'rgb(22, 163, 74)',
  '1:11': 'rgb(37, 99, 235)',
  '1:12': 'rgb(37, 99, 235)',
}

function text(id, name, characters, box, fontSize) {
  return {
    id, name, type: 'TEXT', characters, absoluteBoundingBox: box, fills: solid(0.1, 0.1, 0.1),
    layoutSizingHorizontal: 'FIXED', layoutSizingVertical: 'FIXED',
    style: { fontFamily: 'Inter', fontWeight: 600, fontSize, lineHeightUnit: 'PIXELS', lineHeightPx: 24, letterSpacing: 0.5, textAlignHorizontal: 'LEFT', textAutoResize: 'NONE' },
  }
}

function button(id, label, box, fill) {
  const t = text(id === '2:1' ? '2:2' : `${id};2:2`, 'Label', label, rect(box.x + (box.width - 88) / 2, box.y + 8, 88, 24), 14)
  t.fills = solid(1, 1, 1)
  t.style.textAlignHorizontal = 'CENTER'
  return {
    id, name: 'Button', type: id === '2:1' ? 'COMPONENT' : 'INSTANCE', ...(id === '2:1' ? {} : { componentId: '2:1' }),
    absoluteBoundingBox: box, layoutMode: 'HORIZONTAL', paddingTop: 8, paddingBottom: 8, paddingLeft: 16, paddingRight: 16,
    primaryAxisAlignItems: 'CENTER', counterAxisAlignItems: 'CENTER', fills: solid(37 / 255, 99 / 255, 235 / 255), cornerRadius: 8,
    layoutSizingHorizontal: fill ? 'FILL' : 'FIXED', layoutSizingVertical: 'FIXED', children: [t],
  }
}

/** The document: nested auto-layout, text, an image, a vector, absolute layers, a component and two instances. */
export function testDocument() {
  const fx = 100
  const fy = 50
  const at = (id) => rect(fx + expected[id].x, fy + expected[id].y, expected[id].width, expected[id].height)
  const landing = {
    id: '1:2', name: 'Landing', type: 'FRAME', absoluteBoundingBox: at('1:2'), layoutMode: 'VERTICAL', itemSpacing: 16,
    paddingTop: 24, paddingBottom: 24, paddingLeft: 24, paddingRight: 24, layoutSizingHorizontal: 'FIXED', layoutSizingVertical: 'FIXED',
    fills: solid(1, 1, 1), styles: { fill: 'S:white' }, clipsContent: true,
    children: [
      {
        id: '1:3', name: 'Header', type: 'FRAME', absoluteBoundingBox: at('1:3'), layoutMode: 'HORIZONTAL', primaryAxisAlignItems: 'SPACE_BETWEEN',
        counterAxisAlignItems: 'CENTER', itemSpacing: 10, layoutSizingHorizontal: 'FILL', layoutSizingVertical: 'HUG',
        children: [
          { id: '1:4', name: 'Logo', type: 'RECTANGLE', absoluteBoundingBox: at('1:4'), cornerRadius: 20, layoutSizingHorizontal: 'FIXED', layoutSizingVertical: 'FIXED', fills: [{ type: 'IMAGE', imageRef: 'img-logo', scaleMode: 'FILL' }] },
          { id: '1:5', name: 'Icon', type: 'VECTOR', absoluteBoundingBox: at('1:5'), layoutSizingHorizontal: 'FIXED', layoutSizingVertical: 'FIXED', fills: solid(0, 0, 0) },
          text('1:6', 'Title', 'Hello, Figma', at('1:6'), 24),
        ],
      },
      {
        id: '1:7', name: 'Card', type: 'FRAME', absoluteBoundingBox: at('1:7'), cornerRadius: 12, layoutSizingHorizontal: 'FILL', layoutSizingVertical: 'FIXED',
        fills: [{ type: 'GRADIENT_LINEAR', gradientHandlePositions: [{ x: 0, y: 0.5 }, { x: 1, y: 0.5 }, { x: 0, y: 1 }], gradientStops: [{ position: 0, color: { r: 1, g: 0.9, b: 0.8, a: 1 } }, { position: 1, color: { r: 0.8, g: 0.9, b: 1, a: 1 } }] }],
        strokes: solid(0.8, 0.8, 0.8), strokeWeight: 1, strokeAlign: 'INSIDE',
        effects: [{ type: 'DROP_SHADOW', visible: true, color: { r: 0, g: 0, b: 0, a: 0.25 }, offset: { x: 0, y: 4 }, radius: 8 }],
        children: [
          { id: '1:8', name: 'Badge', type: 'RECTANGLE', absoluteBoundingBox: at('1:8'), cornerRadius: 4, opacity: 0.9, fills: solid(22 / 255, 163 / 255, 74 / 255), styles: { fill: 'S:green' } },
          text('1:9', 'Caption', 'Made from a design', at('1:9'), 16),
        ],
      },
      {
        id: '1:10', name: 'Buttons', type: 'FRAME', absoluteBoundingBox: at('1:10'), layoutMode: 'HORIZONTAL', itemSpacing: 12,
        layoutSizingHorizontal: 'FILL', layoutSizingVertical: 'HUG',
        children: [button('1:11', 'Buy now', at('1:11'), true), button('1:12', 'Cancel', at('1:12'), true)],
      },
    ],
  }
  return {
    name: 'E2E design', editorType: 'figma', version: '7', lastModified: '2026-01-02T03:04:05Z',
    document: {
      id: '0:0', name: 'Document', type: 'DOCUMENT',
      children: [
        { id: '0:1', name: 'Home', type: 'CANVAS', children: [landing] },
        { id: '0:2', name: 'Components', type: 'CANVAS', children: [button('2:1', 'Label', rect(0, 0, 120, 40), false)] },
      ],
    },
    components: { '2:1': { key: 'k-button', name: 'Button' } },
    styles: { 'S:white': { name: 'Surface/White', styleType: 'FILL' }, 'S:green': { name: 'Brand/Green', styleType: 'FILL' } },
  }
}

const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" fill="#000"/></svg>'

/** Serves files (key → document) to requests with the token; resolves to { url, requests, close }. */
export async function startFakeFigma({ token, files }) {
  const requests = []
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x')
    requests.push({ path: u.pathname, token: req.headers['x-figma-token'] })
    const json = (code, body) => { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)) }
    let m
    if ((m = /^\/renders\/([^/]+)\/(.+)$/.exec(u.pathname))) {
      if (m[2].endsWith('.svg')) { res.writeHead(200, { 'Content-Type': 'image/svg+xml' }); res.end(svg); return }
      // A 1×1 orange PNG.
      res.writeHead(200, { 'Content-Type': 'image/png' })
      res.end(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4n8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC', 'base64'))
      return
    }
    if (req.headers['x-figma-token'] !== token) return json(403, { status: 403, err: 'Invalid token' })
    if ((m = /^\/v1\/files\/([^/]+)$/.exec(u.pathname))) {
      const doc = files[m[1]]
      return doc ? json(200, doc) : json(404, { status: 404, err: 'Not found' })
    }
    if ((m = /^\/v1\/images\/([^/]+)$/.exec(u.pathname))) {
      const images = {}
      for (const id of (u.searchParams.get('ids') || '').split(',')) {
        images[id] = `${url}/renders/${m[1]}/${id.replace(/[:;]/g, '-')}.${u.searchParams.get('format')}`
      }
      return json(200, { err: null, images })
    }
    json(404, { status: 404, err: 'Not found' })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${server.address().port}`
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) }
}
