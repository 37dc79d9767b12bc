import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { PoolStats } from '../db/connect.js'
import type { AuthMetrics } from '../services/metrics.js'
import { HttpRequestMetrics } from './http-request-metrics.js'

/** What the use cases and the rate limiter may record; prom-client itself stays inside this plugin. */
export interface Metrics extends AuthMetrics {
  /** `route` is the route pattern (e.g. `/auth/login`), never a raw URL. */
  rateLimited: (route: string) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
    /** The app's registry, for plugins that own their metrics (see src/plugins/revocations.ts). */
    metricsRegistry: Registry
  }
}

// Requests that match no route share one label, so scanners cannot grow the series without bound.
const UNMATCHED_ROUTE = 'unmatched'

/**
 * Prometheus metrics on a registry owned by this app (never the global one: several apps share a
 * test process): HTTP counts and latencies by route pattern, the auth counters, the DB pool and
 * the default process metrics, served at GET /metrics.
 */
export default fp(async function metricsPlugin (fastify) {
  const register = new Registry()
  collectDefaultMetrics({ register })

  const httpRequests = new HttpRequestMetrics()
  httpRequests.registerWith(register)
  // The callback form: no promise per response.
  fastify.addHook('onResponse', (request, reply, done) => {
    httpRequests.record(
      request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000
    )
    done()
  })

  registerPoolGauge(register, () => fastify.database.poolStats())
  fastify.decorate('metrics', createDomainMetrics(register))
  fastify.decorate('metricsRegistry', register)

  fastify.get('/metrics', {
    schema: {
      tags: ['operations'],
      operationId: 'metrics',
      security: [],
      summary: 'Prometheus metrics: requests, auth events, rate limiting, DB pool, process',
      response: {
        200: {
          description: 'Prometheus text exposition format',
          content: { 'text/plain': { schema: { type: 'string' } } }
        }
      }
    }
  }, async (_request, reply) => {
    const body = await register.metrics()
    return await reply.header('cache-control', 'no-store').type(register.contentType).send(body)
  })
}, { name: 'metrics', dependencies: ['config', 'db'], fastify: '5.x' })

function createDomainMetrics (register: Registry): Metrics {
  const registers = [register]
  const logins = new Counter({
    name: 'auth_logins_total', help: 'Password logins, by result', labelNames: ['result'] as const, registers
  })
  const refreshes = new Counter({
    name: 'auth_refreshes_total',
    help: 'Refresh-token presentations, by outcome',
    labelNames: ['result'] as const,
    registers
  })
  const reuseDetections = new Counter({
    name: 'auth_refresh_reuse_detections_total',
    help: 'Spent refresh tokens presented again (their session family revoked)',
    registers
  })
  const rateLimitHits = new Counter({
    name: 'rate_limit_hits_total',
    help: 'Requests refused by a rate limit, by route pattern',
    labelNames: ['route'] as const,
    registers
  })
  const tokensIssued = new Counter({
    name: 'tokens_issued_total', help: 'Access tokens issued, by grant', labelNames: ['grant'] as const, registers
  })
  return {
    loginSucceeded: () => { logins.inc({ result: 'ok' }) },
    loginFailed: () => { logins.inc({ result: 'failed' }) },
    refreshed: (result) => { refreshes.inc({ result }) },
    reuseDetected: () => { reuseDetections.inc() },
    rateLimited: (route) => { rateLimitHits.inc({ route }) },
    tokenIssued: (grant) => { tokensIssued.inc({ grant }) }
  }
}

// Read when scraped, not sampled on a timer: the numbers are the pool's at that moment.
function registerPoolGauge (register: Registry, poolStats: () => PoolStats): Gauge<'state'> {
  return new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections, by state (total, idle, waiting for a connection)',
    labelNames: ['state'] as const,
    registers: [register],
    collect () {
      const stats = poolStats()
      this.set({ state: 'total' }, stats.total)
      this.set({ state: 'idle' }, stats.idle)
      this.set({ state: 'waiting' }, stats.waiting)
    }
  })
}
