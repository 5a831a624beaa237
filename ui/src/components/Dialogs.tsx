// Promise-based confirm and prompt dialogs: `if (await confirm({...}))`.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { Modal } from './Modal'

interface ConfirmOpts {
  title: string
  message?: ReactNode
  confirmLabel?: string
  danger?: boolean
}
interface PromptOpts {
  title: string
  label: string
  initial?: string
  confirmLabel?: string
  /** Returns an error message, or null when the value is fine. */
  validate?: (value: string) => string | null
  /** Pre-selects a part of the initial value, e.g. the name without its extension. */
  select?: [number, number]
}

type Request =
  | ({ kind: 'confirm'; resolve: (ok: boolean) => void } & ConfirmOpts)
  | ({ kind: 'prompt'; resolve: (v: string | null) => void } & PromptOpts)

interface DialogsValue {
  confirm: (o: ConfirmOpts) => Promise<boolean>
  prompt: (o: PromptOpts) => Promise<string | null>
}

const Ctx = createContext<DialogsValue>({
  confirm: async () => window.confirm('Are you sure?'),
  prompt: async (o) => window.prompt(o.label, o.initial),
})
export const useDialogs = () => useContext(Ctx)

export function DialogsProvider({ children }: { children: ReactNode }) {
  const [req, setReq] = useState<Request | null>(null)
  const confirm = useCallback(
    (o: ConfirmOpts) => new Promise<boolean>((resolve) => setReq({ kind: 'confirm', resolve, ...o })),
    [],
  )
  const prompt = useCallback(
    (o: PromptOpts) => new Promise<string | null>((resolve) => setReq({ kind: 'prompt', resolve, ...o })),
    [],
  )
  const value = useMemo(() => ({ confirm, prompt }), [confirm, prompt])
  const done = (result: boolean | string | null) => {
    if (!req) return
    setReq(null)
    if (req.kind === 'confirm') req.resolve(result === true)
    else req.resolve(typeof result === 'string' ? result : null)
  }
  return (
    <Ctx.Provider value={value}>
      {children}
      {req?.kind === 'confirm' && (
        <Modal title={req.title} onClose={() => done(false)} className="modal-small">
          {req.message && <div className="modal-message">{req.message}</div>}
          <div className="modal-actions">
            <button type="button" className="btn" onClick={() => done(false)}>
              Cancel
            </button>
            <button
              type="button"
              className={'btn ' + (req.danger ? 'btn-danger' : 'btn-primary')}
              onClick={() => done(true)}
              autoFocus
            >
              {req.confirmLabel ?? 'OK'}
            </button>
          </div>
        </Modal>
      )}
      {req?.kind === 'prompt' && <PromptDialog req={req} done={done} />}
    </Ctx.Provider>
  )
}

function PromptDialog({ req, done }: { req: PromptOpts; done: (v: string | null) => void }) {
  const [value, setValue] = useState(req.initial ?? '')
  const [error, setError] = useState<string | null>(null)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => {
    // select once when the dialog opens, e.g. the file name without its extension
    const el = input.current
    if (!el) return
    el.focus()
    if (req.select) el.setSelectionRange(req.select[0], req.select[1])
    else el.select()
  }, [req])
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const v = value.trim()
    const err = v === '' ? 'Must not be empty' : (req.validate?.(v) ?? null)
    if (err) setError(err)
    else done(v)
  }
  return (
    <Modal title={req.title} onClose={() => done(null)} className="modal-small">
      <form onSubmit={submit}>
        <div className={'field' + (error ? ' field-invalid' : '')}>
          <label htmlFor="prompt-input">{req.label}</label>
          <input
            id="prompt-input"
            ref={input}
            value={value}
            onChange={(e) => {
              setValue(e.target.value)
              setError(null)
            }}
            aria-invalid={error ? true : undefined}
          />
          {error && <div className="field-error">{error}</div>}
        </div>
        <div className="modal-actions">
          <button type="button" className="btn" onClick={() => done(null)}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary">
            {req.confirmLabel ?? 'OK'}
          </button>
        </div>
      </form>
    </Modal>
  )
}
