import { Placeholder } from './Placeholder'
import type { PaneProps } from './types'

export function AgentPane(_props: PaneProps) {
  return <Placeholder title="Agent">Ask the AI agent to build features; its edits appear live in the editor.</Placeholder>
}
