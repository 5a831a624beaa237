import { useState, type FormEvent } from 'react'
import { ApiError, errorMessage } from '../../api'
import { accountApi } from '../../accountApi'
import { useSession } from '../../session'
import { Field, FormError } from '../Field'

/** Edit the name and email; change the password (other sessions end). */
export function AccountSection() {
  const { user, setUser } = useSession()
  const [name, setName] = useState(user?.name ?? '')
  const [email, setEmail] = useState(user?.email ?? '')
  const [profileErrors, setProfileErrors] = useState<Record<string, string>>({})
  const [profileMsg, setProfileMsg] = useState<string | null>(null)
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [pwErrors, setPwErrors] = useState<Record<string, string>>({})
  const [pwMsg, setPwMsg] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)

  const saveProfile = async (e: FormEvent) => {
    e.preventDefault()
    setProfileErrors({})
    setProfileMsg(null)
    try {
      setUser(await accountApi.updateProfile({ name: name.trim(), email: email.trim() }))
      setProfileMsg('Profile saved.')
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length) setProfileErrors(err.fields)
      else setError(errorMessage(err))
    }
  }

  const changePassword = async (e: FormEvent) => {
    e.preventDefault()
    setPwErrors({})
    setPwMsg(null)
    if (next.length < 8) return setPwErrors({ new_password: 'At least 8 characters' })
    try {
      await accountApi.changePassword(current, next)
      setCurrent('')
      setNext('')
      setPwMsg('Password changed. Your other sessions were signed out.')
    } catch (err) {
      if (err instanceof ApiError && Object.keys(err.fields).length) setPwErrors(err.fields)
      else setError(errorMessage(err))
    }
  }

  return (
    <section className="card" aria-labelledby="account-h">
      <h2 id="account-h">Account</h2>
      <FormError message={error} />
      <form onSubmit={saveProfile} noValidate aria-label="Edit profile">
        <Field label="Name" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)}
          error={profileErrors.name} />
        <Field label="Email" name="email" type="email" autoComplete="email" value={email}
          onChange={(e) => setEmail(e.target.value)} error={profileErrors.email} />
        {profileMsg && <p role="status" className="muted">{profileMsg}</p>}
        <button type="submit" className="btn btn-primary">Save profile</button>
      </form>
      <form onSubmit={changePassword} noValidate aria-label="Change password">
        <h3>Change password</h3>
        <Field label="Current password" name="current-password" type="password" autoComplete="current-password"
          value={current} onChange={(e) => setCurrent(e.target.value)} error={pwErrors.current_password} />
        <Field label="New password" name="new-password" type="password" autoComplete="new-password"
          value={next} onChange={(e) => setNext(e.target.value)} error={pwErrors.new_password}
          hint="At least 8 characters. Your other sessions will be signed out." />
        {pwMsg && <p role="status" className="muted">{pwMsg}</p>}
        <button type="submit" className="btn">Change password</button>
      </form>
    </section>
  )
}
