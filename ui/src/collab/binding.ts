// The CodeMirror binding of a live document: text sync, remote cursors
// with names (y-codemirror.next) and an undo manager that only undoes
// this tab's own changes.
import type { Extension } from '@codemirror/state'
import { yCollab } from 'y-codemirror.next'
import type { CollabSession } from './session'

export function collabExtension(session: CollabSession): Extension {
  return yCollab(session.text, session.provider.awareness, { undoManager: session.undo })
}
