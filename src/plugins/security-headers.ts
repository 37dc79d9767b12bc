import fp from 'fastify-plugin'

/**
 * Headers suited to a JSON API (OWASP REST Security Cheat Sheet): no sniffing, no framing, no
 * referrer, and nothing cached unless a route says otherwise (the JWKS does).
 */
export default fp(async function securityHeadersPlugin (fastify) {
  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    if (!request.url.startsWith('/docs')) {
      reply.header('x-frame-options', 'DENY')
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    }
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
  })
}, { name: 'security-headers', fastify: '5.x' })
