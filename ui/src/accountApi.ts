// Account security API: two-factor, passkeys, the security log, profile and
// password, and the admin users page (docs/API.md, "Accounts").
import { json, type User } from './api'

export interface TwoFactorStatus {
  enabled: boolean
  recovery_codes_left: number
  passkeys: number
}

export interface Enrollment {
  secret: string
  otpauth_url: string
  /** The otpauth URL as a PNG data: URL (drawn by the server). */
  qr_code: string
}

export interface Passkey {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
}

export interface SecurityEvent {
  id: string
  user_id: string
  actor_id: string
  kind: string
  detail: string
  ip: string
  user_agent: string
  at: string
}

export interface AdminUser extends User {
  two_factor: boolean
  disabled: boolean
  last_login_at: string | null
}

interface Ceremony {
  ceremony: string
  options: { publicKey: unknown }
}

const enc = encodeURIComponent

export const accountApi = {
  totpStatus: () => json<TwoFactorStatus>('GET', '/api/auth/totp'),
  enrollTotp: () => json<Enrollment>('POST', '/api/auth/totp/enroll'),
  confirmTotp: (code: string) => json<{ recovery_codes: string[] }>('POST', '/api/auth/totp/confirm', { code }),
  disableTotp: (password: string, code: string) => json<void>('POST', '/api/auth/totp/disable', { password, code }),
  secondFactor: (code: string) => json<User>('POST', '/api/auth/login/second-factor', { code }),

  updateProfile: (p: { name?: string; email?: string }) => json<User>('PATCH', '/api/me', p),
  changePassword: (current_password: string, new_password: string) =>
    json<void>('POST', '/api/me/password', { current_password, new_password }),
  securityEvents: () => json<SecurityEvent[]>('GET', '/api/me/security-events'),

  passkeys: () => json<Passkey[]>('GET', '/api/me/passkeys'),
  deletePasskey: (id: string) => json<void>('DELETE', `/api/me/passkeys/${enc(id)}`),
  /** Creates a passkey in the browser's authenticator and registers it. */
  addPasskey: async (name: string) => {
    const c = await json<Ceremony>('POST', '/api/me/passkeys/begin')
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(c.options.publicKey as PublicKeyCredentialCreationOptionsJSON)
    const cred = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential | null
    if (!cred) throw new Error('No passkey was created')
    return json<Passkey>('POST', '/api/me/passkeys/finish', { ceremony: c.ceremony, name, credential: cred.toJSON() })
  },
  /** Signs in with a passkey: password-less, or as the second factor of a sign-in waiting for one. */
  passkeySignIn: async () => {
    const c = await json<Ceremony>('POST', '/api/auth/passkey/begin')
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(c.options.publicKey as PublicKeyCredentialRequestOptionsJSON)
    const cred = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential | null
    if (!cred) throw new Error('No passkey was chosen')
    return json<User>('POST', '/api/auth/passkey/finish', { ceremony: c.ceremony, credential: cred.toJSON() })
  },

  adminUsers: () => json<AdminUser[]>('GET', '/api/admin/users'),
  adminPatchUser: (id: string, p: { disabled?: boolean; is_admin?: boolean }) =>
    json<AdminUser>('PATCH', `/api/admin/users/${enc(id)}`, p),
  adminResetTwoFactor: (id: string) => json<void>('POST', `/api/admin/users/${enc(id)}/reset-2fa`),
  adminDeleteUser: (id: string, projects: 'delete' | 'transfer', to?: string) =>
    json<void>('DELETE', `/api/admin/users/${enc(id)}?projects=${projects}${to ? '&to=' + enc(to) : ''}`),
  adminSecurityEvents: () => json<SecurityEvent[]>('GET', '/api/admin/security-events'),
}
