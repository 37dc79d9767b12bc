import type { FastifyRequest } from 'fastify'
import type { RequestContext } from '../services/index.js'
import { USER_AGENT_MAX_LENGTH } from '../limits.js'

/**
 * Who is calling, as recorded with sessions and audit events: the client IP (as the trusted-proxy
 * setting resolves it; Fastify always has one) and the user agent, cut here once, so nothing
 * downstream stores more.
 */
export function requestContext (request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent']
  return { ip: request.ip, userAgent: agent === undefined ? null : agent.slice(0, USER_AGENT_MAX_LENGTH) }
}
