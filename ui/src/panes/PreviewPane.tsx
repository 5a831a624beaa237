import { Placeholder } from './Placeholder'
import type { PaneProps } from './types'

export function PreviewPane(_props: PaneProps) {
  return <Placeholder title="Preview">The running app, served on its own origin.</Placeholder>
}
