import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'

/** How long a browser may reuse a preflight answer; Chromium caps it at 7200 anyway. */
export const PREFLIGHT_MAX_AGE_SECONDS = 3600

/** Response headers a cross-origin script may read besides the CORS-safelisted ones. */
export const EXPOSED_HEADERS = ['Retry-After', 'WWW-Authenticate', 'X-Request-Id']

/**
 * The routes a browser on another origin calls with its cookie: credentials, sessions, and the
 * OAuth endpoints a browser has a reason to use. Introspection and the operations endpoints are
 * for services and operators, so they get no CORS at all.
 */
export function isCredentialedPath (path: string): boolean {
  return path.startsWith('/auth/') || path === '/oauth/token' || path === '/oauth/revoke'
}

/** Documents anyone may read: keys, discovery and the revocation feed hold nothing private. */
export function isPublicPath (path: string): boolean {
  return path.startsWith('/.well-known/') || path === '/revocations' || path === '/revocations/stream'
}

/** What one kind of path answers a cross-origin caller, as header values built once. */
interface CorsPolicy {
  /** `*`, or undefined: the request's Origin is echoed (credentialed responses may not use `*`). */
  allowOrigin?: '*'
  credentials: boolean
  exposeHeaders: string
  /** Only on preflight answers. */
  preflight: { allowMethods: string, allowHeaders: string, maxAge: string }
}

const CREDENTIALED_ALLOWED_HEADERS = 'content-type, authorization'
const MAX_AGE = String(PREFLIGHT_MAX_AGE_SECONDS)

const PUBLIC_POLICY: CorsPolicy = {
  allowOrigin: '*',
  credentials: false,
  exposeHeaders: ['ETag', ...EXPOSED_HEADERS].join(', '),
  // Conditional requests and SSE resumption send these; both need a preflight.
  preflight: { allowMethods: 'GET, HEAD', allowHeaders: 'if-none-match, last-event-id', maxAge: MAX_AGE }
}

const credentialedPolicy = (methods: string): CorsPolicy => ({
  credentials: true,
  exposeHeaders: EXPOSED_HEADERS.join(', '),
  preflight: { allowMethods: methods, allowHeaders: CREDENTIALED_ALLOWED_HEADERS, maxAge: MAX_AGE }
})
const AUTH_POLICY = credentialedPolicy('GET, POST, DELETE')
const OAUTH_POLICY = credentialedPolicy('POST')

/**
 * The CORS policy of one request, or undefined for none (no Access-Control-* header at all). An
 * origin outside ALLOWED_ORIGINS gets none on the credentialed paths; public documents answer
 * every origin, and a request without one too.
 */
export function corsPolicyFor (
  path: string, origin: string | undefined, allowedOrigins: readonly string[]
): CorsPolicy | undefined {
  if (isPublicPath(path)) return PUBLIC_POLICY
  if (!isCredentialedPath(path) || origin === undefined || !allowedOrigins.includes(origin)) return undefined
  return path.startsWith('/auth/') ? AUTH_POLICY : OAUTH_POLICY
}

const pathOf = (url: string): string => {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function addVaryOrigin (reply: FastifyReply): void {
  const vary = reply.getHeader('vary')
  if (vary === undefined) reply.header('vary', 'Origin')
  else if (!String(vary).split(',').some((name) => name.trim().toLowerCase() === 'origin' || name.trim() === '*')) {
    reply.header('vary', `${String(vary)}, Origin`)
  }
}

/**
 * CORS for browser frontends on their own origin, as an onRequest hook that runs before rate
 * limits, authentication and body parsing, so every answer (errors and 429s included) carries its
 * headers, and a preflight is answered right there with a 204 and `Content-Length: 0` (Safari waits
 * for a body otherwise): it never reaches a route handler and never counts against a rate limit.
 * Every response says `Vary: Origin`, because what it carries depends on the Origin.
 *
 * An OPTIONS request is answered as a preflight wherever a policy applies, even without
 * Access-Control-Request-Method: a 204 with the same headers is as true as a 400, and keeps every
 * error of the service problem+json. Where no policy applies, OPTIONS is a 404 like any unknown route.
 *
 * Hand-written rather than @fastify/cors: that plugin, given a per-request policy, copies and
 * normalises its whole options object on every request, which cost an eighth of the JWKS's
 * throughput (docs/BENCHMARKS.md); here the three policies are header strings built once.
 */
export default fp(async function corsPlugin (fastify) {
  const allowedOrigins = fastify.config.ALLOWED_ORIGINS
  fastify.addHook('onRequest', (request, reply, done) => {
    addVaryOrigin(reply)
    const origin = request.headers.origin
    const policy = corsPolicyFor(pathOf(request.url), origin, allowedOrigins)
    if (policy === undefined) { done(); return }
    reply.header('access-control-allow-origin', policy.allowOrigin ?? origin)
    if (policy.credentials) reply.header('access-control-allow-credentials', 'true')
    reply.header('access-control-expose-headers', policy.exposeHeaders)
    if (request.method !== 'OPTIONS') { done(); return }
    reply.header('access-control-allow-methods', policy.preflight.allowMethods)
    reply.header('access-control-allow-headers', policy.preflight.allowHeaders)
    reply.header('access-control-max-age', policy.preflight.maxAge)
    reply.code(204).header('content-length', '0').send()
  })
  // Lets OPTIONS reach the hook above on every path; a preflight never gets here, so this is
  // always an OPTIONS without a CORS policy. Kept out of the API docs.
  fastify.options('*', { schema: { hide: true } }, (_request, reply) => { reply.callNotFound() })
}, { name: 'cors', dependencies: ['config'], fastify: '5.x' })
