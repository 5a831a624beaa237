/** Fired on window (detail: a checkpoint id) to show that checkpoint in the Checkpoints pane. */
export const SHOW_CHECKPOINT_EVENT = 'ecode:show-checkpoint'
