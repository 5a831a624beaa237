// The workspace's side panes, in tab order. Add a pane: write a component taking
// PaneProps in this folder and list it here.
import { AgentPane } from './AgentPane'
import { CheckpointsPane } from './CheckpointsPane'
import { ConsolePane } from './ConsolePane'
import { PreviewPane } from './PreviewPane'
import { SecretsPane } from './SecretsPane'
import { TerminalPane } from './TerminalPane'
import type { PaneDef } from './types'

export type { PaneDef, PaneProps } from './types'

export const panes: PaneDef[] = [
  { id: 'console', title: 'Console', component: ConsolePane },
  { id: 'terminal', title: 'Terminal', component: TerminalPane },
  { id: 'preview', title: 'Preview', component: PreviewPane },
  { id: 'agent', title: 'Agent', component: AgentPane },
  { id: 'checkpoints', title: 'Checkpoints', component: CheckpointsPane },
  { id: 'secrets', title: 'Secrets', component: SecretsPane },
]
