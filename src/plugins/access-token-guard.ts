import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalidToken } from '../errors.js'
import { parseBearer } from '../lib/bearer.js'
import type { Caller } from '../services/index.js'

declare module 'fastify' {
  interface FastifyRequest { caller: Caller | undefined }
  interface FastifyInstance {
    /** preHandler: require a valid access token whose session is still live. */
    requireAccessToken: (request: FastifyRequest, reply?: FastifyReply) => Promise<void>
  }
}

/** The bearer token of a request, if it carries one (without verifying it). */
function bearerToken (request: FastifyRequest): string | undefined {
  const token = parseBearer(request.headers.authorization)
  if (token === null) throw invalidToken('The Authorization header must be "Bearer <access token>"')
  return token
}

/**
 * Guards the service's own access-token routes. Tokens are accepted only in the Authorization
 * header (RFC 6750 §2.1; a query-string token would end up in logs and Referer headers); the
 * service checks the rest (pinned verification, and a live session: logout, revocation and
 * password change take effect here at once, not when the token expires).
 */
export default fp(async function accessTokenGuardPlugin (fastify) {
  fastify.decorateRequest('caller', undefined)

  fastify.decorate('requireAccessToken', async function requireAccessToken (request: FastifyRequest): Promise<void> {
    const query = request.query as Record<string, unknown> | undefined
    if (query !== undefined && query !== null && 'access_token' in query) {
      throw invalidToken('Access tokens are accepted only in the Authorization header')
    }
    const token = bearerToken(request)
    if (token === undefined) throw invalidToken('An access token is required')
    request.caller = await fastify.services.authenticate(token)
  })
}, { name: 'access-token-guard', dependencies: ['services'], fastify: '5.x' })
