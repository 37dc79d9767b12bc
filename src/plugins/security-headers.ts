import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Headers suited to a JSON API (OWASP REST Security Cheat Sheet): no sniffing, no framing, no
 * referrer, and nothing cached unless a route says otherwise (the JWKS does).
 */
export function applySecurityHeaders (request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  reply.header('x-content-type-options', 'nosniff')
  reply.header('referrer-policy', 'no-referrer')
  if (!request.url.startsWith('/docs')) {
    reply.header('x-frame-options', 'DENY')
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
  }
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
}

export default fp(async function securityHeadersPlugin (fastify) {
  fastify.addHook('onSend', async (request, reply) => { applySecurityHeaders(request, reply) })
}, { name: 'security-headers', fastify: '5.x' })
