// Who is in the project and which file they have open: awareness in the
// project's presence room (the empty room name), which carries no text.
import { useEffect, useRef, useState } from 'react'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { collabServerUrl, type CollabUser } from './session'

export interface Present {
  user: CollabUser
  /** The file open in their active tab, if any. */
  file: string | null
  self: boolean
}

export function usePresence(projectId: string, me: CollabUser | null, activeFile: string | null): Present[] {
  const [people, setPeople] = useState<Present[]>([])
  const provider = useRef<WebsocketProvider | null>(null)

  useEffect(() => {
    if (!me) return
    const doc = new Y.Doc()
    const p = new WebsocketProvider(collabServerUrl(projectId), '', doc, { disableBc: true })
    provider.current = p
    const refresh = () => {
      const byUser = new Map<string, Present>()
      p.awareness.getStates().forEach((state, clientId) => {
        const user = state.user as CollabUser | undefined
        if (!user?.id) return
        const self = clientId === doc.clientID
        const prev = byUser.get(user.id)
        if (!prev || self) byUser.set(user.id, { user, file: (state.file as string | null) ?? null, self: self || prev?.self === true })
      })
      setPeople([...byUser.values()].sort((a, b) => Number(b.self) - Number(a.self) || a.user.name.localeCompare(b.user.name)))
    }
    p.awareness.on('change', refresh)
    return () => {
      p.awareness.off('change', refresh)
      p.destroy()
      doc.destroy()
      provider.current = null
    }
  }, [projectId, me?.id]) // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (me) provider.current?.awareness.setLocalState({ user: me, file: activeFile })
  }, [me, activeFile, projectId])

  return people
}
