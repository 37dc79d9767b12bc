import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { findRefreshTokenByHash } from '../../db/repositories/refresh-tokens.js'
import { findLiveSession } from '../../domain/sessions/liveness.js'
import { hashRefreshToken, looksLikeRefreshToken } from '../../domain/sessions/refresh-token.js'
import { verifyAccessToken } from '../../domain/tokens/access-token.js'
import { AppError } from '../../errors.js'
import { isKnownAudience } from '../../domain/authorization/resources.js'
import { epochSeconds } from '../../lib/clock.js'
import { requireServiceClient } from './client-auth.js'
import { OAUTH_CONSUMES, OAuthParam, oauthBody, oauthErrorResponse } from './schemas.js'

const IntrospectBody = oauthBody({ token: OAuthParam, token_type_hint: OAuthParam, client_id: OAuthParam, client_secret: OAuthParam })

const IntrospectionResponse = Type.Object({
  active: Type.Boolean(),
  sub: Type.Optional(Type.String()),
  sid: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  scope: Type.Optional(Type.String()),
  roles: Type.Optional(Type.Array(Type.String(), { description: 'The user\'s roles when the token was issued' })),
  client_id: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String())
}, { additionalProperties: false })

type Introspection = Static<typeof IntrospectionResponse>

const introspectRoute: FastifyPluginAsyncTypebox = async function introspectRoute (fastify) {
  const inactive: Introspection = { active: false }

  /** An access token is active while it verifies and its session (if any) is live. */
  async function introspectAccessToken (token: string): Promise<Introspection | undefined> {
    let claims
    try {
      claims = await verifyAccessToken(fastify.accessTokenDeps, token, { anyAudience: true })
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_token') return undefined
      throw error
    }
    // Only audiences this service mints for: its own, or a registered resource server.
    if (!await isKnownAudience(fastify.db, claims.aud, fastify.config.AUDIENCE)) return undefined
    if (claims.sid !== undefined && await findLiveSession(fastify.db, claims.sid, fastify.sessionDeps.clock.now(), fastify.config.SESSION_IDLE_TTL) === undefined) return inactive
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
  async function introspectRefreshToken (token: string): Promise<Introspection | undefined> {
    if (!looksLikeRefreshToken(token)) return undefined
    const row = await findRefreshTokenByHash(fastify.db, hashRefreshToken(token))
    if (row === undefined) return undefined
    const session = row.spent_at === null ? await findLiveSession(fastify.db, row.session_id, fastify.sessionDeps.clock.now(), fastify.config.SESSION_IDLE_TTL) : undefined
    if (session === undefined) return inactive
    return {
      active: true,
      sub: session.user_id,
      sid: session.id,
      exp: epochSeconds(session.expires_at),
      iat: epochSeconds(row.created_at),
      iss: fastify.config.ISSUER,
      ...(session.scope === null ? {} : { scope: session.scope }),
      client_id: session.client_id,
      token_type: 'refresh_token'
    }
  }

  fastify.post('/introspect', {
    config: { oauthErrors: true, rateLimit: fastify.rateLimits.token },
    schema: {
      tags: ['oauth'],
      operationId: 'introspect',
      summary: 'Token introspection for service clients (RFC 7662)',
      description: 'Requires a registered service client. An access token of a revoked, expired or idle session is reported inactive at once, although its signature still verifies. `aud` is the token\'s own: this service\'s audience or the resource server it was minted for.',
      consumes: OAUTH_CONSUMES,
      security: [{ clientBasic: [] }],
      body: Type.Partial(IntrospectBody),
      response: {
        200: IntrospectionResponse,
        400: oauthErrorResponse('invalid_request: no token'),
        401: oauthErrorResponse('invalid_client'),
        503: oauthErrorResponse('temporarily_unavailable')
      }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    await requireServiceClient(fastify.db, request)
    const { token, token_type_hint: hint } = request.body
    if (token === undefined || token === '') throw new AppError('invalid_request', 'token is required')
    // The hint only orders the lookups (RFC 7662 §2.1); both kinds are always tried.
    const lookups = hint === 'refresh_token' ? [introspectRefreshToken, introspectAccessToken] : [introspectAccessToken, introspectRefreshToken]
    for (const lookup of lookups) {
      const result = await lookup(token)
      if (result !== undefined) return result
    }
    return inactive
  })
}

export default introspectRoute
