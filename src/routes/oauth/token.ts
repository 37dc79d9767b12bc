import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { resolveResource } from '../../domain/authorization/resources.js'
import { grantedScope } from '../../domain/clients/clients.js'
import { rotateRefreshToken } from '../../domain/sessions/rotation.js'
import { accessTokenDepsFor } from '../../domain/sessions/access-cap.js'
import { signAccessToken } from '../../domain/tokens/access-token.js'
import { insertAuditEvent } from '../../db/repositories/audit-events.js'
import { AppError } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { authenticateClientIfPresented, requireServiceClient } from './client-auth.js'
import { OAUTH_CONSUMES, OAuthParam, OAuthTokenParam, oauthBody, oauthErrorResponse } from './schemas.js'

const TokenBody = oauthBody({
  grant_type: OAuthParam,
  refresh_token: OAuthTokenParam,
  scope: OAuthParam,
  client_id: OAuthParam,
  client_secret: OAuthParam,
  resource: OAuthParam
})

const OAuthTokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String())
}, { additionalProperties: false })

const tokenRoute: FastifyPluginAsyncTypebox = async function tokenRoute (fastify) {
  fastify.post('/token', {
    config: { oauthErrors: true, rateLimit: fastify.rateLimits.token },
    schema: {
      tags: ['oauth'],
      operationId: 'token',
      summary: 'OAuth 2.0 token endpoint: refresh_token and client_credentials grants (RFC 6749)',
      description: 'refresh_token follows the same rotation and reuse rules as /auth/refresh and always returns the new refresh token in the body. client_credentials requires a registered service client (HTTP Basic or client_id/client_secret in the body) and issues an access token with sub = client id and no refresh token. Both grants accept `resource` (RFC 8707): a registered resource server that becomes the token\'s `aud` and caps its lifetime; for client_credentials the granted scopes must be registered for both the client and the resource.',
      consumes: OAUTH_CONSUMES,
      security: [{ clientBasic: [] }, {}],
      body: Type.Partial(TokenBody),
      response: {
        200: OAuthTokenResponse,
        400: oauthErrorResponse('invalid_request, invalid_grant, unsupported_grant_type, invalid_scope or invalid_target'),
        401: oauthErrorResponse('invalid_client'),
        429: oauthErrorResponse('rate_limited'),
        503: oauthErrorResponse('temporarily_unavailable')
      }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    const body = request.body
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    const resourceParam = body.resource === '' ? undefined : body.resource
    switch (body.grant_type) {
      case 'refresh_token': {
        if (body.refresh_token === undefined || body.refresh_token === '') throw new AppError('invalid_request', 'refresh_token is required')
        const clientId = await authenticateClientIfPresented(fastify.db, request)
        // Resolved before the rotation: an unknown resource is invalid_target with nothing spent.
        const resource = await resolveResource(fastify.db, resourceParam)
        // RFC 6749 §6: a token is bound to the client of its session; and this endpoint answers in a
        // body, so a cookie session's token (which must never appear in one) is refused here.
        const binding = { clientId, bodyDeliveryOnly: true }
        const outcome = await rotateRefreshToken(
          fastify.sessionDeps, body.refresh_token, requestContext(request), binding, resource
        )
        if (outcome.kind !== 'rotated') {
          fastify.metrics.refreshed(outcome.kind)
          if (outcome.kind === 'reused') fastify.metrics.reuseDetected()
          throw new AppError('invalid_grant', outcome.kind === 'reused'
            ? 'The refresh token was already used; the session has been revoked'
            : outcome.kind === 'expired' ? 'The session has expired' : 'The refresh token is invalid or revoked')
        }
        fastify.metrics.refreshed(outcome.grace ? 'grace' : 'ok')
        fastify.metrics.tokenIssued('refresh_token')
        const { tokens } = outcome
        return { access_token: tokens.accessToken, token_type: 'Bearer' as const, expires_in: tokens.expiresIn, refresh_token: tokens.refreshToken }
      }
      case 'client_credentials': {
        const client = await requireServiceClient(fastify.db, request)
        const resource = await resolveResource(fastify.db, resourceParam)
        const scope = grantedScope(client, body.scope, resource)
        if (scope === undefined) {
          throw new AppError('invalid_scope', resource === undefined
            ? 'The requested scope is not registered for this client'
            : 'The requested scope is not registered for both this client and the resource')
        }
        const access = await signAccessToken(accessTokenDepsFor(fastify.accessTokenDeps, resource),
          { sub: client.clientId, clientId: client.clientId, scope })
        await insertAuditEvent(fastify.db, { type: 'client_token_issued', clientId: client.clientId, ip: request.ip }, fastify.sessionDeps.clock.now())
        fastify.metrics.tokenIssued('client_credentials')
        return { access_token: access.token, token_type: 'Bearer' as const, expires_in: access.expiresIn, ...(scope === '' ? {} : { scope }) }
      }
      case undefined:
        throw new AppError('invalid_request', 'grant_type is required')
      default:
        throw new AppError('unsupported_grant_type', 'Supported grant types: refresh_token, client_credentials')
    }
  })
}

export default tokenRoute
