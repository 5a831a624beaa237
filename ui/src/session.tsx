// Who is signed in, and what the server told us about itself.
import { createContext, useContext } from 'react'
import type { ServerInfo, User } from './api'

export interface SessionValue {
  server: ServerInfo | null
  user: User | null
  /** Re-reads /api/me (after login, signup, logout) and /api/server. */
  refresh: () => Promise<User | null>
  setUser: (u: User | null) => void
}

export const SessionContext = createContext<SessionValue>({
  server: null,
  user: null,
  refresh: async () => null,
  setUser: () => {},
})

export const useSession = () => useContext(SessionContext)
