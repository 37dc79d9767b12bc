import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { invalidToken } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { problemResponse } from '../../schemas/common.js'
import { bearerErrors, commonErrors, NoContent } from './errors.js'
import { RefreshBody } from './refresh.js'
import { clearRefreshCookie, presentedRefreshToken, treatMissingBodyAsEmpty } from './token-response.js'

const logoutRoutes: FastifyPluginAsyncTypebox = async function logoutRoutes (fastify) {
  fastify.post('/logout', {
    preValidation: treatMissingBodyAsEmpty,
    schema: {
      tags: ['auth'],
      operationId: 'logout',
      summary: 'End the current session',
      description: 'Authenticated by the refresh token (cookie or body) or by an access token. The session is ' +
        'revoked and the cookie cleared. An unknown or already revoked refresh token still answers 204: the caller ' +
        'is logged out either way.',
      security: [{ refreshCookie: [] }, { bearerAuth: [] }, {}],
      body: RefreshBody,
      response: {
        204: NoContent,
        ...commonErrors,
        401: problemResponse('invalid_token: no refresh token and no valid access token'),
        403: problemResponse('csrf_rejected')
      }
    }
  }, async (request, reply) => {
    const presented = presentedRefreshToken(request, fastify.config)
    if (presented === undefined) {
      if (request.headers.authorization === undefined) {
        throw invalidToken('A refresh token or an access token is required')
      }
      await fastify.requireAccessToken(request)
    }
    const target = presented === undefined ? { caller: request.caller! } : { refreshToken: presented.token }
    await fastify.services.logout(target, requestContext(request))
    clearRefreshCookie(reply, fastify.config)
    return await reply.code(204).send()
  })

  fastify.post('/logout-all', {
    preHandler: fastify.requireAccessToken,
    schema: {
      tags: ['auth'],
      operationId: 'logoutAll',
      summary: 'End every session of the user, on every device',
      security: [{ bearerAuth: [] }],
      response: { 204: NoContent, ...bearerErrors }
    }
  }, async (request, reply) => {
    await fastify.services.logoutAll(request.caller!, requestContext(request))
    clearRefreshCookie(reply, fastify.config)
    return await reply.code(204).send()
  })
}

export default logoutRoutes
