import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { resolveResource } from '../../domain/authorization/resources.js'
import { rotateRefreshToken, type RotationOutcome } from '../../domain/sessions/rotation.js'
import { AppError } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { problemResponse, Resource } from '../../schemas/common.js'
import { commonErrors } from './errors.js'
import { clearRefreshCookie, presentedRefreshToken, sendTokens, treatMissingBodyAsEmpty } from './token-response.js'

export const RefreshBody = Type.Object({
  // No length bounds here: a string of the wrong length is an unknown token (401), not a schema
  // violation (400); the body limit bounds it and the rotation refuses a wrong shape before any lookup.
  refreshToken: Type.Optional(Type.String())
}, { additionalProperties: false })

const RotateBody = Type.Object({
  refreshToken: RefreshBody.properties.refreshToken,
  resource: Type.Optional(Resource)
}, { additionalProperties: false })

/** What each failed rotation tells the client (and what a frontend should do: see the README). */
export function rotationError (outcome: Exclude<RotationOutcome, { kind: 'rotated' }>): AppError {
  switch (outcome.kind) {
    case 'reused': return new AppError('refresh_token_reused', 'This refresh token was already used; the session has been revoked')
    case 'expired': return new AppError('session_expired', 'The session has expired; log in again')
    case 'invalid': return new AppError('invalid_refresh_token', 'The refresh token is unknown, malformed or revoked')
  }
}

const refreshRoute: FastifyPluginAsyncTypebox = async function refreshRoute (fastify) {
  fastify.post('/refresh', {
    config: { rateLimit: fastify.rateLimits.refresh },
    preValidation: treatMissingBodyAsEmpty,
    schema: {
      tags: ['auth'],
      operationId: 'refresh',
      summary: 'Rotate a refresh token (from the cookie or the body) for a new token pair',
      description: 'The presented token is spent and a new one returned, in the delivery mode of the login. Re-presenting the token just spent within the grace window returns the current token; any other spent token revokes the whole session (refresh_token_reused).',
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
    if (presented === undefined) throw new AppError('invalid_refresh_token', 'A refresh token is required, in the cookie or as {"refreshToken"}')
    // Resolved first: an unknown resource is refused (400 invalid_target) with the token unspent.
    const resource = await resolveResource(fastify.db, request.body.resource)
    const context = requestContext(request)
    const outcome = await rotateRefreshToken(fastify.sessionDeps, presented.token, context, {}, resource)
    if (outcome.kind === 'rotated') {
      fastify.metrics.refreshed(outcome.grace ? 'grace' : 'ok')
      fastify.metrics.tokenIssued('refresh_token')
      return sendTokens(reply, fastify.config, outcome.tokens)
    }
    fastify.metrics.refreshed(outcome.kind)
    if (outcome.kind === 'reused') fastify.metrics.reuseDetected()
    // The token is dead either way: do not let the browser keep sending it.
    if (presented.via === 'cookie') clearRefreshCookie(reply, fastify.config)
    throw rotationError(outcome)
  })
}

export default refreshRoute
