import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'

/**
 * The floor for the cheap routes: one bare Fastify route, no plugins, in its own process like the
 * service. It answers the same shape as the service's JWKS (the same response headers, a body of
 * the same size), so that the load generator parses the same bytes on both sides and the ratio
 * measures the service's own work, not the generator's parsing of a bigger response.
 */
const key = (kid: string): Record<string, string> =>
  ({ kty: 'EC', kid: kid.repeat(43), alg: 'ES256', use: 'sig', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) })
const body = { keys: [key('k'), key('l')] }
const headers = {
  vary: 'Origin',
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'ETag, Retry-After, WWW-Authenticate, X-Request-Id',
  'cache-control': 'public, max-age=300',
  etag: '"16yWh3C9plSTZ3AlZtnlEV3JsJjTrvrL"',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'"
}
const app = Fastify({ logger: false })
app.get('/', async (_request, reply) => {
  reply.headers(headers).header('x-request-id', randomUUID())
  return body
})
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`listening ${address}\n`)
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
