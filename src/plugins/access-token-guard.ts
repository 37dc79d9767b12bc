import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { findLiveSessionWithUser } from '../domain/sessions/liveness.js'
import { invalidToken, verifyAccessToken, type AccessTokenClaims } from '../domain/tokens/access-token.js'

export interface Caller {
  /** The user id. */
  sub: string
  /** The session of the token (only user tokens pass the guard). */
  sid: string
  claims: AccessTokenClaims
  /** The session's user, read with the session (so /auth/me costs one query); undefined if deleted. */
  user: { id: string, email: string, created_at: Date } | undefined
}

declare module 'fastify' {
  interface FastifyRequest { caller: Caller | undefined }
  interface FastifyInstance {
    /** preHandler: require a valid access token whose session is still live. */
    requireAccessToken: (request: FastifyRequest, reply?: FastifyReply) => Promise<void>
  }
}

const BEARER = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i

/** The bearer token of a request, if it carries one (without verifying it). */
export function bearerToken (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = BEARER.exec(header)
  if (match === null) throw invalidToken('The Authorization header must be "Bearer <access token>"')
  return match[1]
}

/**
 * Guards the service's own access-token routes. Tokens are accepted only in the Authorization
 * header (RFC 6750 §2.1; a query-string token would end up in logs and Referer headers), must
 * verify with pinned parameters, and their session must still be live: logout, revocation and
 * password change take effect here at once, not when the token expires.
 */
export default fp(async function accessTokenGuardPlugin (fastify) {
  fastify.decorateRequest('caller', undefined)

  fastify.decorate('requireAccessToken', async function requireAccessToken (request: FastifyRequest): Promise<void> {
    const query = request.query as Record<string, unknown> | undefined
    if (query !== undefined && query !== null && 'access_token' in query) throw invalidToken('Access tokens are accepted only in the Authorization header')
    const token = bearerToken(request)
    if (token === undefined) throw invalidToken('An access token is required')
    const claims = await verifyAccessToken(fastify.accessTokenDeps, token)
    // Every route behind this guard acts on a user and their session; a client_credentials token has neither.
    if (claims.sid === undefined) throw invalidToken('This endpoint requires a user access token')
    const { db, config } = fastify
    const live = await findLiveSessionWithUser(db, claims.sid, fastify.clock.now(), config.SESSION_IDLE_TTL)
    if (live === undefined) throw invalidToken('The session of this access token has ended')
    // A token whose sub is not its session's user was not issued by us for this session.
    const user = live.user?.id === claims.sub ? live.user : undefined
    request.caller = { sub: claims.sub, sid: claims.sid, claims, user }
  })
}, { name: 'access-token-guard', dependencies: ['sessions'], fastify: '5.x' })
