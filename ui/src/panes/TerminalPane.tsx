import { Placeholder } from './Placeholder'
import type { PaneProps } from './types'

export function TerminalPane(_props: PaneProps) {
  return <Placeholder title="Terminal">A shell inside the project's sandbox.</Placeholder>
}
