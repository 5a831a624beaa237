import { useState } from 'react'
import { errorMessage, json } from '../api'

export type Offers = {
  plans: { id: string; name: string; price_micros: number; included_micros: number }[]
  packs: { id: string; credit_micros: number }[]
}

function dollars(micros: number): string {
  const cents = Math.round(micros / 10000)
  return '$' + Math.floor(cents / 100) + '.' + String(cents % 100).padStart(2, '0')
}

/**
 * Upgrade and Buy credits through Stripe Checkout: each button asks the
 * server for a Checkout session and goes to it. The plan and balance change
 * when Stripe confirms (its webhook), not when the user comes back.
 */
export function Checkout({ offers, planId }: { offers?: Offers; planId: string }) {
  const [err, setErr] = useState('')
  const [busy, setBusy] = useState('')
  const returned = new URLSearchParams(window.location.search).get('checkout')
  if (!offers) return <p className="muted">To top up or upgrade, ask an administrator.</p>
  const go = (key: string, body: { plan?: string; pack?: string }) => {
    setBusy(key)
    setErr('')
    json<{ url: string }>('POST', '/api/usage/checkout', body).then(
      (r) => window.location.assign(r.url),
      (e) => { setErr(errorMessage(e)); setBusy('') },
    )
  }
  return (
    <div className="usage-checkout">
      {returned === 'success' && (
        <p role="status" data-testid="checkout-returned">Thank you: your plan and credits update as soon as Stripe confirms the payment.</p>
      )}
      {returned === 'cancelled' && <p role="status">Checkout was cancelled; nothing was charged.</p>}
      <p>
        {offers.plans.filter((p) => p.id !== planId).map((p) => (
          <button key={p.id} className="btn btn-primary" type="button" disabled={busy !== ''} onClick={() => go('plan:' + p.id, { plan: p.id })}>
            Upgrade to {p.name} ({dollars(p.price_micros)} a month)
          </button>
        ))}{' '}
        {offers.packs.map((p) => (
          <button key={p.id} className="btn" type="button" disabled={busy !== ''} onClick={() => go('pack:' + p.id, { pack: p.id })}>
            Buy {dollars(p.credit_micros)} of credits
          </button>
        ))}
      </p>
      {busy && <p role="status">Opening Stripe Checkout…</p>}
      {err && <p role="alert" className="error">{err}</p>}
    </div>
  )
}
