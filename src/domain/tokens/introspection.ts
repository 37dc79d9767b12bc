import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { findRefreshTokenByHash } from '../../db/repositories/refresh-tokens.js'
import { isRefusal } from '../../errors.js'
import { epochSeconds } from '../../lib/clock.js'
import { isKnownAudience } from '../authorization/resources.js'
import { findLiveSession } from '../sessions/liveness.js'
import { hashRefreshToken, looksLikeRefreshToken } from '../sessions/refresh-token.js'
import { verifyAccessToken, type AccessTokenDeps } from './access-token.js'

/** An RFC 7662 introspection answer. */
export interface Introspection {
  active: boolean
  sub?: string
  sid?: string
  exp?: number
  iat?: number
  iss?: string
  aud?: string | string[]
  scope?: string
  roles?: string[]
  client_id?: string
  token_type?: string
  jti?: string
}

export interface IntrospectionDeps {
  db: Kysely<Database>
  accessTokens: AccessTokenDeps
  idleSeconds: number
}

const INACTIVE: Introspection = { active: false }

/**
 * What a token is (RFC 7662): both kinds are always tried, the hint only orders the lookups
 * (§2.1). Anything unknown, forged, expired or of an ended session is `{ active: false }`.
 */
export async function introspectToken (
  deps: IntrospectionDeps, token: string, hint: string | undefined
): Promise<Introspection> {
  const lookups = hint === 'refresh_token'
    ? [introspectRefreshToken, introspectAccessToken]
    : [introspectAccessToken, introspectRefreshToken]
  for (const lookup of lookups) {
    const result = await lookup(deps, token)
    if (result !== undefined) return result
  }
  return INACTIVE
}

/** An access token is active while it verifies and its session (if any) is live; undefined: not one. */
async function introspectAccessToken (deps: IntrospectionDeps, token: string): Promise<Introspection | undefined> {
  let claims
  try {
    claims = await verifyAccessToken(deps.accessTokens, token, { anyAudience: true })
  } catch (error) {
    if (isRefusal(error, 'invalid_token')) return undefined
    throw error
  }
  // Only audiences this service mints for: its own, or a registered resource server.
  if (!await isKnownAudience(deps.db, claims.aud, deps.accessTokens.audience)) return undefined
  const now = deps.accessTokens.clock.now()
  if (claims.sid !== undefined && await findLiveSession(deps.db, claims.sid, now, deps.idleSeconds) === undefined) {
    return INACTIVE
  }
  return {
    active: true,
    sub: claims.sub,
    ...(claims.sid === undefined ? {} : { sid: claims.sid }),
    exp: claims.exp,
    iat: claims.iat,
    iss: claims.iss,
    aud: claims.aud,
    ...(claims.scope === undefined ? {} : { scope: claims.scope }),
    ...(claims.roles === undefined ? {} : { roles: claims.roles }),
    client_id: claims.client_id,
    token_type: 'Bearer',
    jti: claims.jti
  }
}

/** A refresh token is active while it is its session's unspent token and the session is live. */
async function introspectRefreshToken (deps: IntrospectionDeps, token: string): Promise<Introspection | undefined> {
  if (!looksLikeRefreshToken(token)) return undefined
  const row = await findRefreshTokenByHash(deps.db, hashRefreshToken(token))
  if (row === undefined) return undefined
  const now = deps.accessTokens.clock.now()
  const session = row.spent_at === null
    ? await findLiveSession(deps.db, row.session_id, now, deps.idleSeconds)
    : undefined
  if (session === undefined) return INACTIVE
  return {
    active: true,
    sub: session.user_id,
    sid: session.id,
    exp: epochSeconds(session.expires_at),
    iat: epochSeconds(row.created_at),
    iss: deps.accessTokens.issuer,
    ...(session.scope === null ? {} : { scope: session.scope }),
    client_id: session.client_id,
    token_type: 'refresh_token'
  }
}
