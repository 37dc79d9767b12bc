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
  // The callback form: no promise per response.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    applySecurityHeaders(request, reply)
    done(null, payload)
  })
}, { name: 'security-headers', fastify: '5.x' })
