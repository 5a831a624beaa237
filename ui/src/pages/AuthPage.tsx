import { useEffect, useState, type FormEvent } from 'react'
import { api, ApiError, errorMessage } from '../api'
import { Field, FormError } from '../components/Field'
import { Logo } from '../components/Icon'
import { Link, navigate, nextPath } from '../router'
import { PasskeySignIn, SecondFactor } from '../components/auth/SecondFactor'
import type { User } from '../api'
import { useSession } from '../session'

type Mode = 'login' | 'signup'
type Errors = Record<string, string>

function validate(mode: Mode, v: { name: string; email: string; password: string }): Errors {
  const e: Errors = {}
  if (mode === 'signup' && !v.name.trim()) e.name = 'Please enter your name'
  if (!v.email.trim()) e.email = 'Please enter your email'
  else if (!/^[^\s@]+@[^\s@]+$/.test(v.email.trim())) e.email = 'This does not look like an email address'
  if (!v.password) e.password = 'Please enter a password'
  else if (mode === 'signup' && [...v.password].length < 10) e.password = 'At least 10 characters'
  return e
}

export function AuthPage({ mode }: { mode: Mode }) {
  const { server, setUser, refresh } = useSession()
  const [name, setName] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [errors, setErrors] = useState<Errors>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [needCode, setNeedCode] = useState(false)

  useEffect(() => {
    document.title = (mode === 'login' ? 'Log in' : 'Sign up') + ' · E-Code'
    setErrors({})
    setFormError(null)
  }, [mode])

  const firstUser = server ? !server.has_users : false
  const invite = new URLSearchParams(location.search).get('invite') ?? ''
  const policy = server?.signup_policy ?? (server && !server.signup_open ? 'closed' : 'open')
  const signupOpen = server ? server.signup_open || firstUser || (policy === 'invite' && invite !== '') : true
  const keepNext = location.search.includes('next=') ? location.search : ''

  const signedIn = (user: User) => {
    setUser(user)
    refresh() // has_users and banners may have changed
    navigate(nextPath(), { replace: true })
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const errs = validate(mode, { name, email, password })
    setErrors(errs)
    setFormError(null)
    if (Object.keys(errs).length) return
    setBusy(true)
    try {
      const user =
        mode === 'login'
          ? await api.login(email.trim(), password)
          : await api.signup(email.trim(), password, name.trim(), invite || undefined)
      signedIn(user)
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required') {
        setNeedCode(true)
      } else if (err instanceof ApiError && Object.keys(err.fields).length) {
        setErrors(err.fields)
        if (!err.fields.email && !err.fields.password && !err.fields.name) setFormError(err.message)
      } else if (err instanceof ApiError && err.code === 'account_disabled') {
        setFormError('This account is disabled. Ask an administrator.')
      } else if (err instanceof ApiError && err.status === 401) {
        setFormError('Wrong email or password.')
      } else if (err instanceof ApiError && (err.code === 'invite_invalid' || err.code === 'invite_required' || err.code === 'signup_closed')) {
        setFormError(err.message)
      } else if (err instanceof ApiError && err.status === 429) {
        setFormError('Too many attempts. Please wait a moment and try again.')
      } else {
        setFormError(errorMessage(err))
      }
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="auth-screen">
      <main className="auth-card">
        <div className="auth-logo">
          <Logo />
        </div>
        <h1>{mode === 'login' ? 'Log in to E-Code' : 'Create your account'}</h1>
        {mode === 'login' && firstUser && (
          <div className="callout callout-accent">
            <strong>Welcome! This server has no accounts yet.</strong>
            <p>The first account becomes admin.</p>
            <Link href="/signup" className="btn btn-primary btn-block">
              Create the first account
            </Link>
          </div>
        )}
        {mode === 'signup' && invite && !firstUser && signupOpen && (
          <div className="callout callout-accent">You were invited to this server.</div>
        )}
        {mode === 'signup' && firstUser && (
          <div className="callout callout-accent">You are creating the first account: it becomes the admin.</div>
        )}
        {needCode ? (
          <SecondFactor onSignedIn={signedIn} onRestart={() => { setNeedCode(false); setPassword('') }} />
        ) : mode === 'signup' && !signupOpen ? (
          <div className="callout" role="alert">
            {policy === 'invite'
              ? 'Sign-up on this server needs an invite link. Ask an administrator for one.'
              : 'Sign-up is closed on this server. Ask an administrator for an account.'}
          </div>
        ) : (
          <form onSubmit={submit} noValidate className="auth-form">
            <FormError message={formError} />
            {mode === 'signup' && (
              <Field label="Name" name="name" autoComplete="name" value={name} autoFocus
                onChange={(e) => setName(e.target.value)} error={errors.name} />
            )}
            <Field label="Email" name="email" type="email" autoComplete="email" value={email}
              autoFocus={mode === 'login'} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
            <Field label="Password" name="password" type="password" value={password}
              autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
              hint={mode === 'signup' ? 'At least 10 characters, not a common password.' : undefined}
              onChange={(e) => setPassword(e.target.value)} error={errors.password} />
            <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
              {busy ? 'Please wait…' : mode === 'login' ? 'Log in' : 'Sign up'}
            </button>
          </form>
        )}
        <p className="auth-switch">
          {mode === 'login' ? (
            signupOpen && <>New here? <Link href={'/signup' + keepNext}>Create an account</Link></>
          ) : (
            <>Already have an account? <Link href={'/login' + keepNext}>Log in</Link></>
          )}
        </p>
        {mode === 'login' && !needCode && <PasskeySignIn onSignedIn={signedIn} />}
        {mode === 'login' && server?.dev_login && <DevLogin />}
      </main>
    </div>
  )
}

function DevLogin() {
  const { setUser } = useSession()
  const [email, setEmail] = useState('')
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    try {
      setUser(await api.devLogin(email.trim()))
      navigate(nextPath(), { replace: true })
    } catch (err) {
      setError(errorMessage(err))
    }
  }
  return (
    <form className="dev-login" onSubmit={submit}>
      <div className="dev-login-title">Development login (no password)</div>
      <FormError message={error} />
      <div className="row">
        <input aria-label="Dev login email" placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        <button type="submit" className="btn">Dev login</button>
      </div>
    </form>
  )
}
