import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { invalidRequest, refreshRefused, unsupportedGrantType } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { presentedClientCredentials } from './client-auth.js'
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
      description: 'refresh_token follows the same rotation and reuse rules as /auth/refresh and always returns ' +
        'the new refresh token in the body. client_credentials requires a registered service client (HTTP Basic or ' +
        'client_id/client_secret in the body) and issues an access token with sub = client id and no refresh ' +
        'token. Both grants accept `resource` (RFC 8707): a registered resource server that becomes the token\'s ' +
        '`aud` and caps its lifetime; for client_credentials the granted scopes must be registered for both the ' +
        'client and the resource.',
      consumes: OAUTH_CONSUMES,
      security: [{ clientBasic: [] }, {}],
      body: Type.Partial(TokenBody),
      response: {
        200: OAuthTokenResponse,
        400: oauthErrorResponse(
          'invalid_request, invalid_grant, unsupported_grant_type, invalid_scope or invalid_target'),
        401: oauthErrorResponse('invalid_client'),
        429: oauthErrorResponse('rate_limited'),
        503: oauthErrorResponse('temporarily_unavailable')
      }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    const body = request.body
    // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
    const resource = body.resource === '' ? undefined : body.resource
    const context = requestContext(request)
    switch (body.grant_type) {
      case 'refresh_token': {
        if (body.refresh_token === undefined || body.refresh_token === '') {
          throw invalidRequest('refresh_token is required')
        }
        // The same refresh as /auth/refresh; this endpoint answers in a body, so a cookie session's
        // token (which must never appear in one) is refused here, and the failure is invalid_grant.
        const client = presentedClientCredentials(request)
        const input = { refreshToken: body.refresh_token, resource, client, bodyDeliveryOnly: true }
        const outcome = await fastify.services.refresh(input, context)
        if (outcome.kind !== 'rotated') throw refreshRefused(outcome.kind)
        const { tokens } = outcome
        return {
          access_token: tokens.accessToken,
          token_type: 'Bearer' as const,
          expires_in: tokens.expiresIn,
          refresh_token: tokens.refreshToken
        }
      }
      case 'client_credentials': {
        const client = presentedClientCredentials(request)
        const token = await fastify.services.clientCredentials({ client, scope: body.scope, resource }, context)
        return {
          access_token: token.accessToken,
          token_type: 'Bearer' as const,
          expires_in: token.expiresIn,
          ...(token.scope === '' ? {} : { scope: token.scope })
        }
      }
      case undefined:
        throw invalidRequest('grant_type is required')
      default:
        throw unsupportedGrantType()
    }
  })
}

export default tokenRoute
