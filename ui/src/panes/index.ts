// The workspace's side panes, in tab order. Add a pane: write a component taking
// PaneProps in this folder (exported as default or by name) and add one line here;
// it then appears in the desktop tool panel, the phone tab bar and the command palette.
// Panes load on first use (they are code-split), so the editor is usable sooner.
import { lazy } from 'react'
import type { PaneDef } from './types'

export type { PaneDef, PaneProps } from './types'

export const panes: PaneDef[] = [
  { id: 'console', title: 'Console', icon: 'play', component: lazy(() => import('./ConsolePane').then((m) => ({ default: m.ConsolePane }))) },
  { id: 'terminal', title: 'Terminal', icon: 'terminal', component: lazy(() => import('./TerminalPane').then((m) => ({ default: m.TerminalPane }))) },
  { id: 'preview', title: 'Preview', icon: 'globe', component: lazy(() => import('./PreviewPane').then((m) => ({ default: m.PreviewPane }))) },
  { id: 'agent', title: 'Agent', icon: 'spark', component: lazy(() => import('./AgentPane').then((m) => ({ default: m.AgentPane }))) },
  { id: 'checkpoints', title: 'Checkpoints', icon: 'history', component: lazy(() => import('./CheckpointsPane').then((m) => ({ default: m.CheckpointsPane }))) },
  { id: 'deployments', title: 'Deployments', icon: 'globe', component: lazy(() => import('./DeploymentsPane').then((m) => ({ default: m.DeploymentsPane }))) },
  { id: 'secrets', title: 'Secrets', icon: 'gear', component: lazy(() => import('./SecretsPane').then((m) => ({ default: m.SecretsPane }))) },
]
