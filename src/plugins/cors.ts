import fp from 'fastify-plugin'
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyRequest } from 'fastify'

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

const NO_CORS: FastifyCorsOptions = { origin: false }

const AUTH_METHODS = ['GET', 'POST', 'DELETE']
const OAUTH_METHODS = ['POST']
const CREDENTIALED_ALLOWED_HEADERS = ['content-type', 'authorization']

// The same for every request, so built once.
const PUBLIC_CORS: FastifyCorsOptions = {
  origin: '*',
  credentials: false,
  methods: ['GET', 'HEAD'],
  // Conditional requests and SSE resumption send these; both need a preflight.
  allowedHeaders: ['if-none-match', 'last-event-id'],
  exposedHeaders: ['ETag', ...EXPOSED_HEADERS],
  maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  // An OPTIONS without Origin or Access-Control-Request-Method would otherwise get a bare
  // text/plain 400 from the plugin; for a public document a 204 says all there is to say.
  strictPreflight: false
}

/**
 * CORS options for one request. An origin outside ALLOWED_ORIGINS gets `origin: false`, which
 * makes @fastify/cors write no Access-Control-Allow-* header at all (a listed-but-unmatched
 * origin would still get Allow-Credentials). The allowed origin is echoed, never `*`, because
 * credentialed responses may not use the wildcard.
 */
export function corsOptionsFor (
  path: string, origin: string | undefined, allowedOrigins: readonly string[]
): FastifyCorsOptions {
  if (isPublicPath(path)) return PUBLIC_CORS
  if (!isCredentialedPath(path) || origin === undefined || !allowedOrigins.includes(origin)) return NO_CORS
  return {
    origin,
    credentials: true,
    methods: path.startsWith('/auth/') ? AUTH_METHODS : OAUTH_METHODS,
    allowedHeaders: CREDENTIALED_ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    // An OPTIONS from a listed origin without Access-Control-Request-Method is no preflight, but
    // the plugin's strict mode would answer it with a bare text/plain 400: a 204 with the same
    // headers is as true and keeps every error of the service problem+json.
    strictPreflight: false
  }
}

const pathOf = (request: FastifyRequest): string => {
  const query = request.url.indexOf('?')
  return query === -1 ? request.url : request.url.slice(0, query)
}

/**
 * CORS for browser frontends on their own origin, with @fastify/cors. Headers are set in an
 * onRequest hook that runs before rate limits, authentication and body parsing, so every answer
 * (errors and 429s included) carries them, and a preflight is answered right there with a 204:
 * it never reaches a route handler and never counts against a route's rate limit. Every response
 * says `Vary: Origin`, because what it carries depends on the Origin.
 */
export default fp(async function corsPlugin (fastify) {
  const allowedOrigins = fastify.config.ALLOWED_ORIGINS
  await fastify.register(cors, {
    hook: 'onRequest',
    // Preflight answers are computed per request; the OPTIONS route stays out of the API docs.
    hideOptionsRoute: true,
    // The callback form: no promise per request.
    delegator: (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
      callback(null, corsOptionsFor(pathOf(request), request.headers.origin, allowedOrigins))
    }
  })
}, { name: 'cors', dependencies: ['config'], fastify: '5.x' })
