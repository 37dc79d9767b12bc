/**
 * Which connections may tell us the client's address through X-Forwarded-For and its relatives.
 *
 * Only a list of proxy addresses/CIDRs (or proxy-addr's names: loopback, linklocal, uniquelocal)
 * can say that: Fastify then believes forwarded headers only from a socket whose own address is in
 * the list. A hop count or `true` believes any socket, so a direct client could pick the address
 * that per-IP limits and session/audit records key on. Those settings are refused in production and
 * narrowed to loopback proxies elsewhere (a local reverse proxy in development keeps working).
 */
export type TrustedProxies = false | readonly string[]

export interface TrustProxyVerdict {
  proxies: TrustedProxies
  /** Set when the setting was narrowed; logged once at start. */
  warning?: string
  /** Set when the setting cannot be used at all; the service refuses to start with this line. */
  refusal?: string
}

export function parseTrustProxy (value: string, production: boolean): TrustProxyVerdict {
  const trimmed = value.trim().toLowerCase()
  if (trimmed === 'false' || trimmed === '') return { proxies: false }
  if (trimmed === 'true' || /^\d+$/.test(trimmed)) {
    const why = `TRUST_PROXY=${trimmed} would believe X-Forwarded-For from any client; ` +
      'list the proxies\' addresses or CIDRs'
    if (production) return { proxies: false, refusal: `invalid configuration: ${why}` }
    return { proxies: Object.freeze(['loopback']), warning: `${why} (using TRUST_PROXY=loopback)` }
  }
  return { proxies: Object.freeze(trimmed.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')) }
}
