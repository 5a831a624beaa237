import './collab.css'
import { useMemo } from 'react'
import { useSession } from '../session'
import { collabUser } from './session'
import { usePresence } from './usePresence'

const initials = (name: string) =>
  name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('') || '?'

/** The other people in the project now, with the file each has open (you are in the top bar already). */
export function PresenceList({ projectId, activeFile }: { projectId: string; activeFile: string | null }) {
  const { user } = useSession()
  const me = useMemo(() => (user ? collabUser(user.id, user.name) : null), [user])
  const people = usePresence(projectId, me, activeFile).filter((p) => !p.self)
  if (people.length === 0) return null
  return (
    <ul className="presence-list" aria-label="People in this project">
      {people.map((p) => {
        const label = `${p.user.name}${p.self ? ' (you)' : ''}${p.file ? ` — ${p.file}` : ''}`
        return (
          <li key={p.user.id} className="presence-item" data-user={p.user.name} data-file={p.file ?? ''} title={label} aria-label={label}
            style={{ backgroundColor: p.user.color }}>
            {initials(p.user.name)}
          </li>
        )
      })}
    </ul>
  )
}
