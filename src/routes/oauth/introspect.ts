import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { presentedClientCredentials } from './client-auth.js'
import { OAUTH_CONSUMES, OAuthParam, oauthBody, oauthErrorResponse } from './schemas.js'

const IntrospectBody = oauthBody({
  token: OAuthParam, token_type_hint: OAuthParam, client_id: OAuthParam, client_secret: OAuthParam
})

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

const introspectRoute: FastifyPluginAsyncTypebox = async function introspectRoute (fastify) {
  fastify.post('/introspect', {
    config: { oauthErrors: true, rateLimit: fastify.rateLimits.token },
    schema: {
      tags: ['oauth'],
      operationId: 'introspect',
      summary: 'Token introspection for service clients (RFC 7662)',
      description: 'Requires a registered service client. An access token of a revoked, expired or idle session is ' +
        'reported inactive at once, although its signature still verifies. `aud` is the token\'s own: this ' +
        'service\'s audience or the resource server it was minted for.',
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
    const { token, token_type_hint: hint } = request.body
    return await fastify.services.introspect({ token, hint, client: presentedClientCredentials(request) })
  })
}

export default introspectRoute
