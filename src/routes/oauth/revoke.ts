import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { invalidRequest } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { presentedClientCredentials } from './client-auth.js'
import { OAUTH_CONSUMES, OAuthParam, OAuthTokenParam, oauthBody, oauthErrorResponse } from './schemas.js'

const RevokeBody = oauthBody({
  token: OAuthTokenParam, token_type_hint: OAuthParam, client_id: OAuthParam, client_secret: OAuthParam
})

const revokeRoute: FastifyPluginAsyncTypebox = async function revokeRoute (fastify) {
  fastify.post('/revoke', {
    config: { oauthErrors: true, rateLimit: fastify.rateLimits.token },
    schema: {
      tags: ['oauth'],
      operationId: 'revoke',
      summary: 'Revoke a refresh or access token, and so its whole session (RFC 7009)',
      description: 'Always 200 for a well-formed request, whether or not the token was known (RFC 7009 §2.2). A ' +
        'refresh token or a user access token revokes its session; the revocation is published on GET /revocations ' +
        'and GET /revocations/stream.',
      consumes: OAUTH_CONSUMES,
      security: [{ clientBasic: [] }, {}],
      body: Type.Partial(RevokeBody),
      response: {
        200: Type.Unsafe<undefined>({ description: 'Revoked, or nothing to revoke' }),
        400: oauthErrorResponse('invalid_request: no token'),
        401: oauthErrorResponse('invalid_client: client credentials were given and are wrong'),
        503: oauthErrorResponse('temporarily_unavailable')
      }
    }
  }, async (request, reply) => {
    reply.header('cache-control', 'no-store')
    const { token } = request.body
    if (token === undefined || token === '') throw invalidRequest('token is required')
    await fastify.services.revoke({ token, client: presentedClientCredentials(request) }, requestContext(request))
    return await reply.code(200).send()
  })
}

export default revokeRoute
