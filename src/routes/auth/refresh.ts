import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { refreshRefused } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { problemResponse, Resource } from '../../schemas/common.js'
import { commonErrors } from './errors.js'
import { clearRefreshCookie, presentedRefreshToken, sendTokens, treatMissingBodyAsEmpty } from './token-response.js'

export const RefreshBody = Type.Object({
  // No length bounds here: a string of the wrong length is an unknown token (401), not a schema
  // violation (400); the body limit bounds it and the rotation refuses a wrong shape before any
  // lookup.
  refreshToken: Type.Optional(Type.String())
}, { additionalProperties: false })

const RotateBody = Type.Object({
  refreshToken: RefreshBody.properties.refreshToken,
  resource: Type.Optional(Resource)
}, { additionalProperties: false })

const refreshRoute: FastifyPluginAsyncTypebox = async function refreshRoute (fastify) {
  fastify.post('/refresh', {
    config: { rateLimit: fastify.rateLimits.refresh },
    preValidation: treatMissingBodyAsEmpty,
    schema: {
      tags: ['auth'],
      operationId: 'refresh',
      summary: 'Rotate a refresh token (from the cookie or the body) for a new token pair',
      description: 'The presented token is spent and a new one returned, in the delivery mode of the login. ' +
        'Re-presenting the token just spent within the grace window returns the current token; any other spent ' +
        'token revokes the whole session (refresh_token_reused).',
      security: [{ refreshCookie: [] }, {}],
      body: RotateBody,
      response: {
        200: Type.Ref('TokenResponse'),
        ...commonErrors,
        400: problemResponse('validation_failed, or invalid_target: resource unknown or not an absolute URI'),
        401: problemResponse('invalid_refresh_token, refresh_token_reused or session_expired'),
        403: problemResponse('csrf_rejected: cookie sent from an Origin that is not allowed'),
        429: problemResponse('rate_limited')
      }
    }
  }, async (request, reply) => {
    const presented = presentedRefreshToken(request, fastify.config)
    if (presented === undefined) throw refreshRefused('missing')
    const input = { refreshToken: presented.token, resource: request.body.resource }
    const outcome = await fastify.services.refresh(input, requestContext(request))
    if (outcome.kind === 'rotated') return sendTokens(reply, fastify.config, outcome.tokens)
    // The token is dead either way: do not let the browser keep sending it.
    if (presented.via === 'cookie') clearRefreshCookie(reply, fastify.config)
    throw refreshRefused(outcome.kind)
  })
}

export default refreshRoute
