// Below 768 px the workspace shows one pane at a time; this bar picks it. Its entries are
// Files, Editor and every registered tool pane (ui/src/panes/index.ts), so a new pane appears here too.
import { panes } from '../../panes'
import { Icon } from '../Icon'

export const mobilePanes = [
  { id: 'files', title: 'Files', icon: 'folder' },
  { id: 'editor', title: 'Editor', icon: 'code' },
  ...panes.map((p) => ({ id: p.id, title: p.title, icon: p.icon })),
]

export function MobileBar({ active, onPick }: { active: string; onPick: (id: string) => void }) {
  return (
    <nav className="mobile-bar" aria-label="Workspace panes">
      {mobilePanes.map((p) => (
        <button key={p.id} type="button" className={'mobile-tab' + (p.id === active ? ' active' : '')} data-mobile-pane={p.id}
          aria-current={p.id === active ? 'page' : undefined} onClick={() => onPick(p.id)}>
          <Icon name={p.icon} size={18} />
          <span>{p.title}</span>
        </button>
      ))}
    </nav>
  )
}
