import { useEffect } from 'react'
import { TopBar } from '../components/TopBar'
import { SessionsSection } from '../components/settings/SessionsSection'
import { TokensSection } from '../components/settings/TokensSection'
import { AccountSecretsSection } from '../components/settings/AccountSecretsSection'
import { UsersSection } from '../components/settings/UsersSection'
import { ProviderSection } from '../components/settings/ProviderSection'
import { SignupSection } from '../components/settings/SignupSection'
import { AccountSection } from '../components/settings/AccountSection'
import { TwoFactorSection } from '../components/settings/TwoFactorSection'
import { PasskeysSection } from '../components/settings/PasskeysSection'
import { SecurityLogSection } from '../components/settings/SecurityLogSection'
import { NotificationsSection } from '../ops/NotificationsSection'
import { Link } from '../router'
import { useSession } from '../session'
import { fullTime } from '../util'
import { initials } from '../components/TopBar'
import { Icon } from '../components/Icon'

export function Settings() {
  const { user } = useSession()
  useEffect(() => {
    document.title = 'Settings · E-Code'
  }, [])
  if (!user) return null
  return (
    <div className="page">
      <TopBar>
        <Link href="/" className="btn btn-ghost"><Icon name="back" /> Projects</Link>
      </TopBar>
      <main className="settings">
        <h1>Settings</h1>
        <section className="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <div className="profile">
            <span className="avatar avatar-large" aria-hidden="true">{initials(user.name || user.email)}</span>
            <dl className="profile-list">
              <dt>Name</dt>
              <dd>{user.name} {user.is_admin && <span className="badge badge-admin">admin</span>}</dd>
              <dt>Email</dt>
              <dd>{user.email}</dd>
              <dt>Member since</dt>
              <dd>{fullTime(user.created_at)}</dd>
            </dl>
          </div>
        </section>
        <AccountSection />
        <TwoFactorSection />
        <PasskeysSection />
        <SessionsSection />
        <TokensSection />
        <SecurityLogSection />
        <NotificationsSection />
        <AccountSecretsSection />
        {user.is_admin && <ProviderSection />}
        {user.is_admin && <SignupSection />}
        {user.is_admin && <UsersSection />}
      </main>
    </div>
  )
}
