import { Placeholder } from './Placeholder'
import type { PaneProps } from './types'

export function ConsolePane(_props: PaneProps) {
  return <Placeholder title="Console">Run your project and watch its output here.</Placeholder>
}
