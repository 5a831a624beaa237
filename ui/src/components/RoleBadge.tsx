import type { Role } from '../api'

export function RoleBadge({ role }: { role: Role | string }) {
  return <span className={`badge badge-${role}`}>{role}</span>
}
