import { useId, type InputHTMLAttributes } from 'react'

type Props = InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string; hint?: string }

/** A labelled input with an inline error message. */
export function Field({ label, error, hint, className, ...input }: Props) {
  const id = useId()
  const msgId = id + '-msg'
  return (
    <div className={'field ' + (className ?? '') + (error ? ' field-invalid' : '')}>
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={error || hint ? msgId : undefined} {...input} />
      {error ? (
        <div className="field-error" id={msgId}>{sentence(error)}</div>
      ) : hint ? (
        <div className="field-hint" id={msgId}>{hint}</div>
      ) : null}
    </div>
  )
}

/** A form-level error (not tied to one field). */
export function FormError({ message }: { message?: string | null }) {
  if (!message) return null
  return (
    <div className="form-error" role="alert">
      {message}
    </div>
  )
}

/** Server messages are lower-case fragments ("must not be empty"); show them as sentences. */
export function sentence(msg: string): string {
  return msg ? msg[0].toUpperCase() + msg.slice(1) : msg
}
