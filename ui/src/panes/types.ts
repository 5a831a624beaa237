import type { ComponentType } from 'react'
import type { Project } from '../api'

/** What every pane gets from the workspace. Extend here when panes need more (e.g. the active file). */
export interface PaneProps {
  project: Project
  canWrite: boolean
  /** True while the pane's tab is the visible one (panes stay mounted when hidden). */
  visible: boolean
}

export interface PaneDef {
  id: string
  title: string
  /** An Icon name (components/Icon) for the phone tab bar. */
  icon: string
  component: ComponentType<PaneProps>
}
