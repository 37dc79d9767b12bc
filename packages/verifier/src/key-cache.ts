import { importJWK, type JWK } from 'jose'
import { getJson, maxAgeOf } from './http.js'

/** Asymmetric algorithms only: `none` and HMAC keys are never imported, whatever the JWKS says. */
export const ALLOWED_ALGORITHMS = new Set(['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])

export interface PublicKey { alg: string, key: Awaited<ReturnType<typeof importJWK>> }

/** How often an unknown kid may cause a fetch: a flood of forged kids costs the service one request per 30 s. */
export const UNKNOWN_KID_COOLDOWN_MS = 30_000
const DEFAULT_MAX_AGE_SECONDS = 300
const MIN_REFRESH_SECONDS = 30
const MAX_REFRESH_SECONDS = 3600
const RETRY_AFTER_FAILURE_MS = 30_000

/**
 * The issuer's public keys by kid. Refreshed in the background when the JWKS's Cache-Control
 * max-age runs out, fetched again on an unknown kid (at most once per cooldown), and kept as they
 * are when the JWKS cannot be reached: a key that verified a minute ago is still the issuer's key.
 */
export class KeyCache {
  private keys = new Map<string, PublicKey>()
  private etag: string | undefined
  private lastUnknownKidFetch = -Infinity
  private inFlight: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor (private readonly jwksUri: string) {}

  get size (): number { return this.keys.size }

  /** The first fetch: rejects when the JWKS cannot be read or holds no usable key. */
  async load (): Promise<void> {
    await this.fetch()
    if (this.keys.size === 0) throw new Error('the JWKS holds no usable signing key')
  }

  /** The key for a kid; on an unknown kid, one fetch unless another was made within the cooldown. */
  async keyFor (kid: string): Promise<PublicKey | undefined> {
    const known = this.keys.get(kid)
    if (known !== undefined || this.closed) return known
    if (this.inFlight === undefined) {
      if (Date.now() - this.lastUnknownKidFetch < UNKNOWN_KID_COOLDOWN_MS) return undefined
      this.lastUnknownKidFetch = Date.now()
    }
    await this.fetch().catch(() => undefined)
    return this.keys.get(kid)
  }

  close (): void {
    this.closed = true
    clearTimeout(this.timer)
  }

  /** One fetch at a time: concurrent callers share it. */
  private async fetch (): Promise<void> {
    this.inFlight ??= this.fetchOnce().finally(() => { this.inFlight = undefined })
    await this.inFlight
  }

  private async fetchOnce (): Promise<void> {
    try {
      const response = await getJson(this.jwksUri, this.etag === undefined ? {} : { 'if-none-match': this.etag })
      if (response.status === 200) {
        this.keys = await importKeys(response.body)
        this.etag = response.headers.get('etag') ?? undefined
      }
      const maxAge = maxAgeOf(response.headers.get('cache-control')) ?? DEFAULT_MAX_AGE_SECONDS
      this.schedule(Math.min(MAX_REFRESH_SECONDS, Math.max(MIN_REFRESH_SECONDS, maxAge)) * 1000)
    } catch (error) {
      // Stale keys beat no keys: keep what we have and try again later.
      this.schedule(RETRY_AFTER_FAILURE_MS)
      throw error
    }
  }

  private schedule (ms: number): void {
    if (this.closed) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.fetch().catch(() => undefined) }, ms)
    this.timer.unref()
  }
}

async function importKeys (document: unknown): Promise<Map<string, PublicKey>> {
  const keys = new Map<string, PublicKey>()
  const list = (document as { keys?: unknown } | null)?.keys
  if (!Array.isArray(list)) throw new Error('the JWKS has no keys array')
  for (const jwk of list as JWK[]) {
    if (typeof jwk.kid !== 'string' || typeof jwk.alg !== 'string' || !ALLOWED_ALGORITHMS.has(jwk.alg)) continue
    if (jwk.use !== undefined && jwk.use !== 'sig') continue
    // Private members are never used, even if a misconfigured JWKS carried them.
    if ('d' in jwk) continue
    try {
      keys.set(jwk.kid, { alg: jwk.alg, key: await importJWK(jwk, jwk.alg) })
    } catch {
      // A key this runtime cannot import is skipped; the others still verify.
    }
  }
  return keys
}
