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
    /**
     * A preHandler factory: `requireRole('admin')` lets through only a verified user token whose
     * `roles` include `admin`. Without a valid token it answers as `requireAccessToken` does (401 /
     * 503); with one that lacks the role, 403 problem+json `insufficient_role`.
     */
    requireRole: (role: string) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>
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
// The token service's own rule for role names: a name that cannot match is a typo, caught at start.
const ROLE_PATTERN = /^[a-z][a-z0-9:._-]{0,63}$/

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

async function sendProblem (reply: FastifyReply, problem: Problem): Promise<void> {
  await reply.code(problem.status).type('application/problem+json').send({
    type: PROBLEM_TYPE_BASE + problem.code, title: problem.title, status: problem.status, detail: problem.detail, code: problem.code
  })
}

async function fastifyVerifierPlugin (fastify: Parameters<FastifyPluginAsync<VerifierOptions>>[0], options: VerifierOptions): Promise<void> {
  const verifier = createVerifier(options)
  fastify.decorate('accessTokenVerifier', verifier)
  fastify.decorateRequest('accessToken', null)
  async function requireAccessToken (request: FastifyRequest, reply?: FastifyReply): Promise<void> {
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
      await sendProblem(reply, problem)
    }
  }
  fastify.decorate('requireAccessToken', requireAccessToken)
  fastify.decorate('requireRole', function requireRole (role: string) {
    if (typeof role !== 'string' || !ROLE_PATTERN.test(role)) {
      throw new TypeError(`requireRole: ${JSON.stringify(role)} is not a role name (${ROLE_PATTERN.source})`)
    }
    return async function requireRoleHandler (request: FastifyRequest, reply: FastifyReply): Promise<void> {
      // Listed after requireAccessToken, the token is verified already; alone, verify it here.
      if (request.accessToken === null) await requireAccessToken(request, reply)
      if (reply.sent || request.accessToken === null) return
      const roles = request.accessToken.roles
      if (Array.isArray(roles) && roles.includes(role)) return
      // Authenticated but not allowed: 403, and no WWW-Authenticate (a new token would not help
      // before the user's roles change).
      await sendProblem(reply, {
        status: 403, code: 'insufficient_role', title: 'Insufficient role', detail: `This route requires the role ${role}`
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
