import { useState, type FormEvent } from 'react'
import { ApiError, errorMessage, type User } from '../../api'
import { accountApi } from '../../accountApi'
import { Field, FormError } from '../Field'

/**
 * The second step of signing in: the password was right, now a code from the
 * authenticator app, a recovery code, or a passkey.
 */
export function SecondFactor({ onSignedIn, onRestart }: { onSignedIn: (u: User) => void; onRestart: () => void }) {
  const [code, setCode] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const fail = (err: unknown) => {
    if (err instanceof ApiError && err.code === 'no_pending_sign_in') {
      onRestart()
      return
    }
    setError(err instanceof ApiError && err.code === 'totp_invalid' ? 'That code is wrong or was already used.'
      : err instanceof ApiError && err.status === 429 ? 'Too many codes tried. Wait a minute and try again.'
      : errorMessage(err))
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!code.trim()) return setError('Enter the 6-digit code, or a recovery code')
    setBusy(true)
    setError(null)
    try {
      onSignedIn(await accountApi.secondFactor(code.trim()))
    } catch (err) {
      fail(err)
    } finally {
      setBusy(false)
    }
  }

  const passkey = async () => {
    setError(null)
    try {
      onSignedIn(await accountApi.passkeySignIn())
    } catch (err) {
      fail(err)
    }
  }

  return (
    <form onSubmit={submit} noValidate className="auth-form" aria-label="Two-factor authentication">
      <p className="muted">Enter the code from your authenticator app. Lost your device? Use one of your recovery codes.</p>
      <FormError message={error} />
      <Field label="Authentication code" name="totp" autoComplete="one-time-code" inputMode="text" autoFocus
        value={code} onChange={(e) => setCode(e.target.value)} />
      <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
        {busy ? 'Please wait…' : 'Verify'}
      </button>
      <button type="button" className="btn btn-block" onClick={passkey}>Use a passkey instead</button>
      <button type="button" className="btn btn-ghost btn-block" onClick={onRestart}>Back</button>
    </form>
  )
}

/** "Sign in with a passkey": password-less, with a discoverable credential. */
export function PasskeySignIn({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  const [error, setError] = useState<string | null>(null)
  const signIn = async () => {
    setError(null)
    try {
      onSignedIn(await accountApi.passkeySignIn())
    } catch (err) {
      setError(err instanceof DOMException ? 'The passkey was not used.' : errorMessage(err))
    }
  }
  return (
    <div className="passkey-sign-in">
      <FormError message={error} />
      <button type="button" className="btn btn-block" onClick={signIn}>Sign in with a passkey</button>
    </div>
  )
}
