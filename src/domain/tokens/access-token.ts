import { invalidToken, type AppError } from '../../errors.js'
import { epochSeconds, type Clock } from '../../lib/clock.js'
import { newId } from '../../lib/random.js'
import type { KeyStore } from '../keys/key-store.js'
import { signCompact, verifyCompact } from './jws.js'

/** RFC 9068 §2.1: the media type of a JWT access token. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

export interface AccessTokenDeps {
  keys: KeyStore
  clock: Clock
  issuer: string
  audience: string
  ttlSeconds: number
}

export interface AccessTokenSubject {
  /** User id, or client id for client_credentials. */
  sub: string
  clientId: string
  /** Session id; absent for client_credentials. */
  sid?: string
  scope?: string
  /** The user's roles, sorted; absent for client_credentials (a client has no roles). */
  roles?: string[]
}

export interface AccessTokenClaims {
  [claim: string]: unknown
  iss: string
  aud: string | string[]
  sub: string
  client_id: string
  jti: string
  iat: number
  exp: number
  sid?: string
  scope?: string
  roles?: string[]
}

/**
 * The claims of an access token, built in one place: everything that signs a token for a subject
 * (login, refresh, client_credentials) goes through here.
 */
export function accessTokenClaims (
  deps: AccessTokenDeps, subject: AccessTokenSubject, now: number, jti: string
): AccessTokenClaims {
  const claims: AccessTokenClaims = {
    iss: deps.issuer,
    aud: deps.audience,
    sub: subject.sub,
    client_id: subject.clientId,
    jti,
    iat: now,
    exp: now + deps.ttlSeconds
  }
  if (subject.sid !== undefined) claims.sid = subject.sid
  if (subject.scope !== undefined && subject.scope !== '') claims.scope = subject.scope
  if (subject.roles !== undefined) claims.roles = subject.roles
  return claims
}

/**
 * Sign an RFC 9068 access token with the current key: typ at+jwt, kid, iss, aud, sub, sid,
 * client_id, roles (user tokens), scope, jti, iat, exp.
 */
export async function signAccessToken (
  deps: AccessTokenDeps, subject: AccessTokenSubject
): Promise<{ token: string, expiresIn: number }> {
  const claims = accessTokenClaims(deps, subject, epochSeconds(deps.clock.now()), newId())
  return { token: signCompact(deps.keys.signingKey(), ACCESS_TOKEN_TYP, claims), expiresIn: deps.ttlSeconds }
}

// Longer than any token we sign (a few hundred bytes); refusing early bounds the parsing work.
const MAX_TOKEN_LENGTH = 4096
const CLOCK_TOLERANCE_SECONDS = 5
const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti', 'client_id', 'aud'] as const

export interface VerifyOptions {
  /**
   * Accept a token minted for any audience (a registered resource server's as well as ours), for
   * introspection, which reports the token's own `aud`. Everything else stays pinned.
   */
  anyAudience?: boolean
}

/**
 * Verify one of our access tokens. Every parameter is pinned: the key comes from our key store by
 * kid (never from jku, x5u or an embedded jwk), the algorithm must be the key's own (so `none`
 * and HMAC can never pass), and typ, iss, aud, exp, iat, sub and jti are required; `aud` must be
 * this service's AUDIENCE unless `anyAudience` is set.
 */
export async function verifyAccessToken (
  deps: AccessTokenDeps, token: string, options: VerifyOptions = {}
): Promise<AccessTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('The access token is too long')
  const verified = await verifyCompact(token, deps.keys, ACCESS_TOKEN_TYP)
  switch (verified.kind) {
    case 'malformed': throw invalidToken(MALFORMED, rejection('ERR_JWS_INVALID'))
    case 'bad_signature': throw invalidToken(MALFORMED, rejection('ERR_JWS_SIGNATURE_VERIFICATION_FAILED'))
    case 'unknown_key': throw invalidToken('The access token was not signed by a key of this service')
    case 'wrong_typ': throw notForThisService()
    case 'verified': break
  }
  const payload = verified.payload
  const now = epochSeconds(deps.clock.now())
  for (const claim of REQUIRED_CLAIMS) {
    if (!(claim in payload)) throw notForThisService()
  }
  if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') throw notForThisService()
  if (payload.exp <= now - CLOCK_TOLERANCE_SECONDS) {
    throw invalidToken('The access token has expired', rejection('ERR_JWT_EXPIRED'))
  }
  const { nbf } = payload
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + CLOCK_TOLERANCE_SECONDS)) throw notForThisService()
  const audienceOk = options.anyAudience === true
    ? isAudience(payload.aud)
    : audienceMatches(payload.aud, deps.audience)
  if (payload.iss !== deps.issuer || !audienceOk) throw notForThisService()
  if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string') throw notForThisService()
  const { roles } = payload
  const rolesOk = roles === undefined || (Array.isArray(roles) && roles.every((role) => typeof role === 'string'))
  const sidOk = payload.sid === undefined || typeof payload.sid === 'string'
  if (typeof payload.client_id !== 'string' || !sidOk || !rolesOk) {
    throw invalidToken('The access token has malformed claims')
  }
  return payload as AccessTokenClaims
}

function audienceMatches (aud: unknown, audience: string): boolean {
  return aud === audience || (Array.isArray(aud) && aud.includes(audience))
}

const isAudience = (aud: unknown): boolean =>
  typeof aud === 'string' || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string'))

const MALFORMED = 'The access token is malformed or its signature is invalid'

/**
 * The cause of a rejection, in jose's error codes: the error handler logs a rejection with a cause
 * as one line carrying only that code (never the claims, never a stack).
 */
const rejection = (code: string): { code: string } => ({ code })

const notForThisService = (): AppError =>
  invalidToken('The access token is not valid for this service', rejection('ERR_JWT_CLAIM_VALIDATION_FAILED'))
