import { Placeholder } from './Placeholder'
import type { PaneProps } from './types'

export function CheckpointsPane(_props: PaneProps) {
  return <Placeholder title="Checkpoints">Every agent turn becomes a checkpoint of files, database and conversation that you can restore.</Placeholder>
}
