// Terminals in panes, with xterm.js loaded on demand (it is large) from ./xtermImpl.
import { useEffect, useRef, type DependencyList, type RefObject } from 'react'
import type { ITerminalOptions } from '@xterm/xterm'
import type { MountedTerminal } from './xtermImpl'

export type { MountedTerminal }

/**
 * Mounts an xterm in `host` once xterm.js is loaded, runs `setup` (which may return a teardown),
 * and disposes of both when `deps` change or the component unmounts. The returned ref holds the
 * terminal while it is mounted.
 */
export function useXterm(
  host: RefObject<HTMLElement | null>,
  options: ITerminalOptions,
  setup: (m: MountedTerminal) => (() => void) | void,
  deps: DependencyList,
): RefObject<MountedTerminal | null> {
  const mounted = useRef<MountedTerminal | null>(null)
  useEffect(() => {
    let cancelled = false
    let teardown: (() => void) | void
    import('./xtermImpl').then(({ mountTerminal }) => {
      if (cancelled || !host.current) return
      const m = mountTerminal(host.current, options)
      mounted.current = m
      teardown = setup(m)
    })
    return () => {
      cancelled = true
      teardown?.()
      mounted.current?.dispose()
      mounted.current = null
    }
  }, deps) // eslint-disable-line react-hooks/exhaustive-deps
  return mounted
}
