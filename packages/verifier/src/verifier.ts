import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { discover } from './discovery.js'
import { invalidToken, unavailable, VerifierError } from './errors.js'
import { KeyCache } from './key-cache.js'
import { RevocationFeed } from './revocation-feed.js'
import { RevokedSessions } from './revoked-sessions.js'

export interface VerifierOptions {
  /** The token service's issuer (its `ISSUER`): discovery is read from `<issuer>/.well-known/openid-configuration`. */
  issuer: string
  /**
   * This API's identifier, exactly as registered with the token service (`resources:create --uri`):
   * a token whose `aud` does not name it — one minted for another service, or for the token
   * service itself — is refused.
   */
  audience: string
  /** How revocations reach the kit: `'stream'` (default, Server-Sent Events), `'poll'` or `'off'`. */
  revocations?: 'stream' | 'poll' | 'off'
  /** With the feed unreachable for longer than `maxStalenessSeconds`: refuse (`'closed'`, default) or go on (`'open'`). */
  failMode?: 'closed' | 'open'
  maxStalenessSeconds?: number
  clockToleranceSeconds?: number
}

/** The claims of a verified access token (RFC 9068 and the token service's own). */
export interface AccessTokenClaims extends JWTPayload {
  iss: string
  aud: string | string[]
  exp: number
  sub?: string
  sid?: string
  client_id?: string
  scope?: string
  /** The user's roles, sorted (`[]` when none); absent from client_credentials tokens, which have no user. */
  roles?: string[]
}

export interface Verifier {
  /** Discovery, keys and the first revocation snapshot; rejects (code `verifier_unavailable`) when unreachable. */
  ready: () => Promise<void>
  /** The token's claims, or a rejection with `code` `invalid_token`, `token_revoked` or `verifier_unavailable`. */
  verify: (token: string) => Promise<AccessTokenClaims>
  /** Seconds since the revocation feed last heard from the service (0 with `revocations: 'off'`). */
  staleness: () => number
  /** Stops the feed connection and the timers. */
  close: () => Promise<void>
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/
const MAX_TOKEN_LENGTH = 16 * 1024
// After a failed start, verify() waits this long before letting another attempt reach the service.
const RETRY_START_MS = 1_000
const PRUNE_INTERVAL_MS = 30_000

interface Started { keys: KeyCache, feed: RevocationFeed | undefined }

export function createVerifier (options: VerifierOptions): Verifier {
  const mode = options.revocations ?? 'stream'
  const failMode = options.failMode ?? 'closed'
  const maxStalenessSeconds = options.maxStalenessSeconds ?? 30
  const clockTolerance = options.clockToleranceSeconds ?? 5
  if (!['stream', 'poll', 'off'].includes(mode)) throw new TypeError(`revocations must be 'stream', 'poll' or 'off', not ${String(mode)}`)
  if (!['closed', 'open'].includes(failMode)) throw new TypeError(`failMode must be 'closed' or 'open', not ${String(failMode)}`)
  // Without an audience, every token of the issuer (for any service) would pass; '' names no service.
  if (typeof options.issuer !== 'string' || typeof options.audience !== 'string' || options.audience === '') {
    throw new TypeError('issuer and audience are required')
  }

  const revoked = new RevokedSessions(clockTolerance)
  let started: Started | undefined
  let starting: Promise<Started> | undefined
  let lastFailure: { at: number, error: VerifierError } | undefined
  let closed = false
  const pruner = setInterval(() => { revoked.prune(Date.now() / 1000) }, PRUNE_INTERVAL_MS)
  pruner.unref()

  async function start (): Promise<Started> {
    let keys: KeyCache | undefined
    let feed: RevocationFeed | undefined
    try {
      const endpoints = await discover(options.issuer)
      keys = new KeyCache(endpoints.jwksUri)
      await keys.load()
      if (mode !== 'off') {
        if (endpoints.revocationsEndpoint === undefined || (mode === 'stream' && endpoints.revocationsStreamEndpoint === undefined)) {
          throw new Error('the discovery document lists no revocation feed')
        }
        feed = new RevocationFeed({ mode, snapshotUrl: endpoints.revocationsEndpoint, streamUrl: endpoints.revocationsStreamEndpoint, revoked })
        await feed.start()
      }
    } catch (error) {
      keys?.close()
      feed?.close()
      throw unavailable(`the token service cannot be reached: ${(error as Error).message}`, error)
    }
    if (closed) { keys.close(); feed?.close() }
    return { keys, feed }
  }

  async function ready (): Promise<void> {
    if (closed) throw unavailable('the verifier is closed')
    if (started !== undefined) return
    starting ??= start().then((result) => {
      started = result
      lastFailure = undefined
      return result
    }, (error: VerifierError) => {
      lastFailure = { at: Date.now(), error }
      throw error
    }).finally(() => { starting = undefined })
    await starting
  }

  async function verify (token: string): Promise<AccessTokenClaims> {
    if (started === undefined) {
      // Not started (or the start failed): try again, but not on every request.
      if (lastFailure !== undefined && Date.now() - lastFailure.at < RETRY_START_MS) throw lastFailure.error
      await ready()
    }
    const { keys, feed } = started!
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) throw invalidToken('not a JWT')
    let header
    try {
      header = decodeProtectedHeader(token)
    } catch (error) {
      throw invalidToken('the token header cannot be read', error)
    }
    if (typeof header.kid !== 'string') throw invalidToken('the token names no key')
    const key = await keys.keyFor(header.kid)
    if (key === undefined) throw invalidToken('the token is signed by a key the issuer does not publish')
    let claims: AccessTokenClaims
    try {
      const result = await jwtVerify(token, key.key, {
        // Pinned to the key's own algorithm: a token cannot choose how it is checked.
        algorithms: [key.alg],
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        requiredClaims: ['iss', 'aud', 'exp'],
        clockTolerance
      })
      claims = result.payload as AccessTokenClaims
    } catch (error) {
      throw invalidToken(reasonOf(error), error)
    }
    if (typeof claims.iat === 'number') revoked.noteLifetime(claims.exp - claims.iat)
    if (typeof claims.sid === 'string' && revoked.has(claims.sid)) {
      throw new VerifierError('token_revoked', 'the token\'s session has been revoked')
    }
    if (feed !== undefined && failMode === 'closed' && feed.staleness() > maxStalenessSeconds) {
      throw unavailable(`the revocation feed has been unreachable for ${Math.floor(feed.staleness())} s`)
    }
    return claims
  }

  return {
    ready,
    verify,
    staleness: () => mode === 'off' ? 0 : started?.feed?.staleness() ?? Infinity,
    close: async () => {
      closed = true
      clearInterval(pruner)
      started?.keys.close()
      started?.feed?.close()
    }
  }
}

function reasonOf (error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired'
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token\'s signature does not verify'
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token\'s algorithm is not its key\'s'
  return 'the token is not a valid access token'
}
