import { useEffect, useState, type FormEvent } from 'react'
import { ApiError, errorMessage } from '../../api'
import { accountApi, type Enrollment, type TwoFactorStatus } from '../../accountApi'
import { Field, FormError } from '../Field'

/** Two-factor authentication with an authenticator app (TOTP) and recovery codes. */
export function TwoFactorSection() {
  const [status, setStatus] = useState<TwoFactorStatus | null>(null)
  const [enrollment, setEnrollment] = useState<Enrollment | null>(null)
  const [codes, setCodes] = useState<string[] | null>(null)
  const [code, setCode] = useState('')
  const [password, setPassword] = useState('')
  const [disabling, setDisabling] = useState(false)
  const [error, setError] = useState<string | null>(null)

  const load = () => accountApi.totpStatus().then(setStatus, (e) => setError(errorMessage(e)))
  useEffect(() => {
    load()
  }, [])

  const fail = (err: unknown) =>
    setError(err instanceof ApiError && Object.keys(err.fields).length ? Object.values(err.fields).join(' ') : errorMessage(err))

  const start = async () => {
    setError(null)
    try {
      setEnrollment(await accountApi.enrollTotp())
      setCode('')
    } catch (err) {
      fail(err)
    }
  }

  const confirm = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    try {
      const r = await accountApi.confirmTotp(code.trim())
      setCodes(r.recovery_codes)
      setEnrollment(null)
      setCode('')
      load()
    } catch (err) {
      fail(err)
    }
  }

  const disable = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    try {
      await accountApi.disableTotp(password, code.trim())
      setDisabling(false)
      setPassword('')
      setCode('')
      setCodes(null)
      load()
    } catch (err) {
      fail(err)
    }
  }

  return (
    <section className="card" aria-labelledby="twofactor-h">
      <h2 id="twofactor-h">Two-factor authentication</h2>
      <FormError message={error} />
      {status && !status.enabled && !enrollment && (
        <>
          <p className="muted">Off. Add a code from an authenticator app to every sign-in.</p>
          <button type="button" className="btn btn-primary" onClick={start}>Set up two-factor authentication</button>
        </>
      )}
      {enrollment && (
        <form onSubmit={confirm} noValidate aria-label="Confirm two-factor authentication">
          <p>Scan this QR code with your authenticator app, or type the key by hand, then enter the code it shows.</p>
          <img src={enrollment.qr_code} alt="QR code for your authenticator app" width={200} height={200} />
          <Field label="Setup key" name="totp-secret" readOnly className="mono" value={enrollment.secret}
            onFocus={(e) => e.target.select()} />
          <Field label="Code from the app" name="totp-code" autoComplete="one-time-code" value={code}
            onChange={(e) => setCode(e.target.value)} />
          <div className="row">
            <button type="submit" className="btn btn-primary">Turn on</button>
            <button type="button" className="btn btn-ghost" onClick={() => setEnrollment(null)}>Cancel</button>
          </div>
        </form>
      )}
      {codes && (
        <div className="callout callout-accent" role="status" aria-label="Recovery codes">
          <strong>Save these recovery codes now — they will not be shown again.</strong> Each works once, if you lose your device.
          <ul className="mono recovery-codes">
            {codes.map((c) => <li key={c}>{c}</li>)}
          </ul>
        </div>
      )}
      {status?.enabled && (
        <>
          <p>
            <span className="badge badge-current">on</span> {status.recovery_codes_left} recovery codes left.
          </p>
          {!disabling ? (
            <button type="button" className="btn btn-danger-ghost" onClick={() => { setDisabling(true); setCode('') }}>
              Turn off two-factor authentication
            </button>
          ) : (
            <form onSubmit={disable} noValidate aria-label="Turn off two-factor authentication">
              <Field label="Password" name="disable-password" type="password" autoComplete="current-password"
                value={password} onChange={(e) => setPassword(e.target.value)} />
              <Field label="Authentication code" name="disable-code" autoComplete="one-time-code" value={code}
                onChange={(e) => setCode(e.target.value)} />
              <div className="row">
                <button type="submit" className="btn btn-danger">Turn off</button>
                <button type="button" className="btn btn-ghost" onClick={() => setDisabling(false)}>Cancel</button>
              </div>
            </form>
          )}
        </>
      )}
    </section>
  )
}
