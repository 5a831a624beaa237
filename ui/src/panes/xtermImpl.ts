// xterm.js set up for the workspace (loaded on demand by ./xterm.ts): the dark theme, and fitting to its container.
import { FitAddon } from '@xterm/addon-fit'
import { Terminal, type ITerminalOptions } from '@xterm/xterm'
import '@xterm/xterm/css/xterm.css'

const theme = {
  background: '#12151b',
  foreground: '#dde3ec',
  cursor: '#f26207',
  cursorAccent: '#12151b',
  selectionBackground: 'rgba(91, 156, 255, 0.35)',
  black: '#1a1e26',
  red: '#f0524f',
  green: '#3fb950',
  yellow: '#e8a93a',
  blue: '#5b9cff',
  magenta: '#d2a8ff',
  cyan: '#39c5cf',
  white: '#c9d1d9',
  brightBlack: '#6b7385',
  brightRed: '#ff7b72',
  brightGreen: '#56d364',
  brightYellow: '#f2cc60',
  brightBlue: '#79c0ff',
  brightMagenta: '#e2c5ff',
  brightCyan: '#56d4dd',
  brightWhite: '#f0f6fc',
}

export interface MountedTerminal {
  term: Terminal
  /** Resizes the grid to the container (no-op while the container is hidden). */
  fit(): void
  dispose(): void
}

/** Opens an xterm in `host`, refitting whenever the host changes size. */
export function mountTerminal(host: HTMLElement, options: ITerminalOptions = {}): MountedTerminal {
  const term = new Terminal({
    theme,
    fontFamily: "ui-monospace, 'SFMono-Regular', 'JetBrains Mono', 'DejaVu Sans Mono', Menlo, Consolas, monospace",
    fontSize: 13,
    lineHeight: 1.2,
    scrollback: 5000,
    allowProposedApi: false,
    ...options,
  })
  const fitAddon = new FitAddon()
  term.loadAddon(fitAddon)
  term.open(host)
  const fit = () => {
    if (!host.offsetParent) return // hidden: keep the last size
    const dims = fitAddon.proposeDimensions()
    if (dims && dims.cols > 1 && dims.rows > 1 && (dims.cols !== term.cols || dims.rows !== term.rows)) fitAddon.fit()
  }
  const observer = new ResizeObserver(() => fit())
  observer.observe(host)
  fit()
  return {
    term,
    fit,
    dispose() {
      observer.disconnect()
      term.dispose()
    },
  }
}
