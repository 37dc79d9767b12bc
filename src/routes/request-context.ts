import type { FastifyRequest } from 'fastify'
import type { RequestContext } from '../services/index.js'
import { USER_AGENT_MAX_LENGTH } from '../limits.js'

/**
 * Who is calling, as recorded with sessions and audit events: the client IP (as the trusted-proxy
 * setting resolves it) and the user agent, cut here once, so nothing downstream stores more.
 */
export const requestContext = (request: FastifyRequest): RequestContext => ({
  ip: request.ip ?? null,
  userAgent: typeof request.headers['user-agent'] === 'string'
    ? request.headers['user-agent'].slice(0, USER_AGENT_MAX_LENGTH)
    : null
})
