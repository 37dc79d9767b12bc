import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import cookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'
import type { DatabaseHandle } from './db/connect.js'
import { systemClock, type Clock } from './lib/clock.js'
import accessTokenGuardPlugin from './plugins/access-token-guard.js'
import configPlugin from './plugins/config.js'
import corsPlugin from './plugins/cors.js'
import credentialsPlugin from './plugins/credentials.js'
import dbPlugin from './plugins/db.js'
import docsPlugin from './plugins/docs.js'
import errorsPlugin from './plugins/errors.js'
import { validationFailed } from './errors.js'
import { renderProblem } from './routes/wire/problem-json.js'
import { BODY_LIMIT_BYTES, USER_AGENT_MAX_LENGTH } from './limits.js'
import keysPlugin from './plugins/keys.js'
import maintenancePlugin from './plugins/maintenance.js'
import metricsPlugin from './plugins/metrics.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import revocationsPlugin from './plugins/revocations.js'
import securityHeadersPlugin, { applySecurityHeaders } from './plugins/security-headers.js'
import servicesPlugin from './plugins/services.js'
import shutdownPlugin from './plugins/shutdown.js'
import authRoutes from './routes/auth/index.js'
import healthRoutes from './routes/health.js'
import oauthRoutes from './routes/oauth/index.js'
import revocationRoutes from './routes/revocations.js'
import wellKnownRoutes from './routes/well-known.js'
import { User } from './schemas/common.js'
import { registerStrictJsonParser } from './lib/strict-body-parsers.js'
import { redactSecrets } from './lib/log-redaction.js'

export interface BuildAppOptions {
  config: Config
  /** A database the caller opened and will close; by default the app opens its own from config. */
  database?: DatabaseHandle
  /** The time every rule reads (tests pass one they can move); the system clock by default. */
  clock?: Clock
  logger?: FastifyServerOptions['logger']
}

/**
 * Structured JSON logs. Secrets never reach them: every secret-named key (credential headers,
 * passwords, tokens, client secrets) is censored at any depth of a logged object, the request
 * serializer keeps no headers but the user agent, and request URLs are logged without their query
 * string (a client might put a token there, even though it is refused).
 */
export function loggerOptions (level: string): FastifyServerOptions['logger'] {
  return {
    level,
    formatters: { log: redactSecrets },
    serializers: {
      req: (request: { method: string, url: string, ip?: string, headers: Record<string, unknown> }) => ({
        method: request.method,
        url: request.url.split('?')[0],
        ip: request.ip,
        userAgent: typeof request.headers['user-agent'] === 'string'
          ? request.headers['user-agent'].slice(0, USER_AGENT_MAX_LENGTH)
          : undefined
      })
    }
  }
}

/** Assemble the application from its plugins, in dependency order. It never listens or boots. */
// Not async on purpose: a Fastify instance is thenable (awaiting it boots it), so returning it from
// an async function would boot it, and a failing boot would lose the instance.
export function buildApp (opts: BuildAppOptions): FastifyInstance {
  const { config } = opts
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(config.LOG_LEVEL),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY === false ? false : [...config.TRUST_PROXY],
    // A caller's X-Request-Id is kept when it is a plain token, so logs can be joined across services.
    requestIdHeader: false,
    genReqId: requestIdFor,
    // Unknown properties are rejected rather than silently stripped, and types are not coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Bounded timeouts: slow clients cannot hold sockets open forever.
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // src/plugins/shutdown.ts answers requests that arrive while closing, as problem+json.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Longer path parameters reach the route schema (and its clear 400) instead of a bare 414.
    routerOptions: { maxParamLength: 1024 },
    // Errors raised before routing (a malformed URL) skip hooks and the error handler.
    frameworkErrors: (error, request, reply) => {
      applySecurityHeaders(request, reply)
      const detail = error.code === 'FST_ERR_BAD_URL' ? 'The request URL is malformed' : 'The request is malformed'
      return renderProblem(reply, validationFailed(detail))
    }
  })

  for (const warning of config.CONFIG_WARNINGS) app.log.warn(warning)

  // Only JSON is accepted on /auth; the OAuth routes add form bodies for themselves.
  app.removeContentTypeParser('text/plain')
  registerStrictJsonParser(app)
  app.addSchema(User)

  // Registered in dependency order; they load when the app boots (ready() or listen()).
  app.register(configPlugin, { config, clock: opts.clock ?? systemClock })
  app.register(errorsPlugin)
  app.register(securityHeadersPlugin)
  // Before the shutdown gate and every route hook, so that all answers carry the CORS headers.
  app.register(corsPlugin)
  app.register(shutdownPlugin)
  app.register(docsPlugin)
  app.register(dbPlugin, { database: opts.database })
  app.register(credentialsPlugin)
  app.register(metricsPlugin)
  app.register(rateLimitPlugin)
  app.register(keysPlugin)
  app.register(cookie)
  app.register(servicesPlugin)
  app.register(accessTokenGuardPlugin)
  app.register(maintenancePlugin)
  app.register(revocationsPlugin)
  app.register(healthRoutes)
  app.register(wellKnownRoutes)
  app.register(authRoutes, { prefix: '/auth' })
  app.register(oauthRoutes, { prefix: '/oauth' })
  app.register(revocationRoutes)
  return app
}

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/

function requestIdFor (request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
}
