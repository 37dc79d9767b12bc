import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose'
import { AppError } from '../../errors.js'
import { epochSeconds, type Clock } from '../../lib/clock.js'
import { newId } from '../../lib/random.js'
import type { KeyStore } from '../keys/key-store.js'

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

export interface AccessTokenClaims extends JWTPayload {
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
 * Sign an RFC 9068 access token with the current key: typ at+jwt, kid, iss, aud, sub, sid,
 * client_id, roles (user tokens), scope, jti, iat, exp.
 */
export async function signAccessToken (deps: AccessTokenDeps, subject: AccessTokenSubject): Promise<{ token: string, expiresIn: number }> {
  const signing = deps.keys.signingKey()
  const now = epochSeconds(deps.clock.now())
  const claims: Record<string, unknown> = { client_id: subject.clientId }
  if (subject.sid !== undefined) claims.sid = subject.sid
  if (subject.scope !== undefined && subject.scope !== '') claims.scope = subject.scope
  if (subject.roles !== undefined) claims.roles = subject.roles
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: ACCESS_TOKEN_TYP })
    .setIssuer(deps.issuer)
    .setAudience(deps.audience)
    .setSubject(subject.sub)
    .setJti(newId())
    .setIssuedAt(now)
    .setExpirationTime(now + deps.ttlSeconds)
    .sign(signing.key)
  return { token, expiresIn: deps.ttlSeconds }
}

// Longer than any token we sign (a few hundred bytes); refusing early bounds the parsing work.
const MAX_TOKEN_LENGTH = 4096

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
  try {
    const { payload } = await jwtVerify(token, async (header: JWTHeaderParameters) => {
      const key = typeof header.kid === 'string' ? await deps.keys.verificationKey(header.kid) : undefined
      if (key === undefined || header.alg !== key.alg) throw invalidToken('The access token was not signed by a key of this service')
      return key.key
    }, {
      algorithms: deps.keys.algorithms(),
      issuer: deps.issuer,
      ...(options.anyAudience === true ? {} : { audience: deps.audience }),
      typ: ACCESS_TOKEN_TYP,
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id', 'aud'],
      currentDate: deps.clock.now(),
      clockTolerance: 5
    })
    const rolesOk = payload.roles === undefined || (Array.isArray(payload.roles) && payload.roles.every((r) => typeof r === 'string'))
    if (typeof payload.client_id !== 'string' || (payload.sid !== undefined && typeof payload.sid !== 'string') || !rolesOk) {
      throw invalidToken('The access token has malformed claims')
    }
    return payload as AccessTokenClaims
  } catch (error) {
    if (error instanceof AppError) throw error
    throw invalidToken(describeJoseError(error), error)
  }
}

function describeJoseError (error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The access token has expired'
  if (error instanceof joseErrors.JWTClaimValidationFailed) return 'The access token is not valid for this service'
  return 'The access token is malformed or its signature is invalid'
}

export const invalidToken = (detail: string, cause?: unknown): AppError =>
  new AppError('invalid_token', detail, { cause, headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${detail}"` } })
