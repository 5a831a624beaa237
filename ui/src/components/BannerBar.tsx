import { useSession } from '../session'

/** Server warnings (dev login enabled, sandbox off, ...), shown on every page. */
export function BannerBar() {
  const { server } = useSession()
  const banners = server?.banners ?? []
  if (banners.length === 0) return null
  return (
    <div className="banner-bar" role="alert" aria-label="Server warnings">
      {banners.map((b, i) => (
        <div className="banner" key={i}>
          <span className="banner-icon" aria-hidden="true">⚠</span> {b}
        </div>
      ))}
    </div>
  )
}
