import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { VerifierError } from './errors.js'
import { createVerifier, type AccessTokenClaims, type Verifier, type VerifierOptions } from './verifier.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A preHandler: sets `request.accessToken`, or answers 401 / 503 problem+json. Called without a
     * reply (from inside a handler), it rejects with the VerifierError instead of answering.
     */
    requireAccessToken: (request: FastifyRequest, reply?: FastifyReply) => Promise<void>
    /** The verifier behind `requireAccessToken` (for `staleness()`, or to verify tokens elsewhere). */
    accessTokenVerifier: Verifier
  }
  interface FastifyRequest {
    /** The verified claims, set by `requireAccessToken`. */
    accessToken: AccessTokenClaims | null
  }
}

const PROBLEM_TYPE_BASE = 'urn:token-service:problem:'
const BEARER = /^Bearer ([^\s]+)$/i

interface Problem { status: number, code: string, title: string, detail: string }

function problemOf (error: unknown): Problem {
  if (error instanceof VerifierError && error.code === 'token_revoked') {
    return { status: 401, code: 'token_revoked', title: 'Token revoked', detail: 'The access token\'s session has been revoked' }
  }
  if (error instanceof VerifierError && error.code === 'invalid_token') {
    return { status: 401, code: 'invalid_token', title: 'Invalid token', detail: error.message }
  }
  // verifier_unavailable, or anything unexpected: fail closed, without saying more than that.
  return { status: 503, code: 'service_unavailable', title: 'Service unavailable', detail: 'Access tokens cannot be checked right now' }
}

async function fastifyVerifierPlugin (fastify: Parameters<FastifyPluginAsync<VerifierOptions>>[0], options: VerifierOptions): Promise<void> {
  const verifier = createVerifier(options)
  fastify.decorate('accessTokenVerifier', verifier)
  fastify.decorateRequest('accessToken', null)
  fastify.decorate('requireAccessToken', async function requireAccessToken (request: FastifyRequest, reply?: FastifyReply) {
    const match = BEARER.exec(request.headers.authorization ?? '')
    try {
      if (match === null) throw new VerifierError('invalid_token', 'an access token is required in the Authorization: Bearer header')
      request.accessToken = await verifier.verify(match[1]!)
    } catch (error) {
      if (reply === undefined) throw error
      const problem = problemOf(error)
      if (problem.status === 401) {
        // token_revoked is an invalid_token in RFC 6750's terms; the body's code says which.
        reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${problem.detail.replace(/["\\]/g, '')}"`)
      } else {
        reply.header('retry-after', '5')
      }
      await reply.code(problem.status).type('application/problem+json').send({
        type: PROBLEM_TYPE_BASE + problem.code, title: problem.title, status: problem.status, detail: problem.detail, code: problem.code
      })
    }
  })
  // A token service down at start does not stop this service from starting: requests get 503
  // until the verifier gets through (each verify tries again, at most once a second).
  fastify.addHook('onReady', async () => {
    await verifier.ready().catch((error: unknown) => { fastify.log.warn({ code: (error as VerifierError).code }, (error as Error).message) })
  })
  fastify.addHook('onClose', async () => { await verifier.close() })
}

/**
 * A Fastify plugin taking createVerifier's options. It is not encapsulated (what fastify-plugin
 * does, done by hand to keep `jose` the only dependency): `requireAccessToken` is visible to the
 * routes of the instance that registered it.
 */
export const fastifyVerifier: FastifyPluginAsync<VerifierOptions> = Object.assign(fastifyVerifierPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@token-service/verifier',
  [Symbol.for('plugin-meta')]: { name: '@token-service/verifier', fastify: '5.x' }
})
