import fp from 'fastify-plugin'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { Gauge } from 'prom-client'
import { rateLimited } from '../errors.js'
import { createFallbackStore } from '../lib/fallback-rate-limit-store.js'

export type RateLimitPreset = 'register' | 'login' | 'refresh' | 'token'

/** Where the per-IP counters live now, as /health/ready reports it. */
export type RateLimitStoreMode = 'redis' | 'memory' | 'memory-fallback' | 'disabled'

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-route limits: `config: { rateLimit: fastify.rateLimits.login }`. */
    rateLimits: Record<RateLimitPreset, RateLimitOptions | false>
    rateLimitStore: { mode: () => RateLimitStoreMode }
  }
}

const NAME_SPACE = 'token-service:rate-limit:'

/**
 * Per-IP limits on the endpoints that take credentials or mint tokens (README, Security), with
 * @fastify/rate-limit. Counters live in Redis when REDIS_URL is set, so that every instance
 * shares them; in process memory otherwise. The client IP is Fastify's `request.ip`, which
 * honours X-Forwarded-For only when TRUST_PROXY says so; IPv6 clients are grouped by /64.
 * A Redis outage does not lift the limits: each instance counts in process until Redis is back
 * (a client may then get up to the limit per instance), and says so in the
 * `rate_limit_store_degraded` gauge and in /health/ready's `rateLimitStore`.
 */
export default fp(async function rateLimitPlugin (fastify) {
  const { config } = fastify
  const preset = (max: number): RateLimitOptions | false =>
    config.RATE_LIMIT_ENABLED ? { max, timeWindow: config.RATE_LIMIT_WINDOW_SECONDS * 1000 } : false
  fastify.decorate('rateLimits', {
    register: preset(config.RATE_LIMIT_REGISTER_MAX),
    login: preset(config.RATE_LIMIT_LOGIN_MAX),
    refresh: preset(config.RATE_LIMIT_REFRESH_MAX),
    token: preset(config.RATE_LIMIT_TOKEN_MAX)
  })
  let mode = (): RateLimitStoreMode => config.RATE_LIMIT_ENABLED ? 'memory' : 'disabled'
  fastify.decorate('rateLimitStore', { mode: () => mode() })
  new Gauge({ // eslint-disable-line no-new -- registered on the app's registry, read when scraped
    name: 'rate_limit_store_degraded',
    help: '1 while Redis (REDIS_URL) is unreachable and per-IP limits are counted in process only',
    registers: [fastify.metricsRegistry],
    collect () { this.set(mode() === 'memory-fallback' ? 1 : 0) }
  })
  if (!config.RATE_LIMIT_ENABLED) return

  let store: ReturnType<typeof createFallbackStore> | undefined
  if (config.REDIS_URL !== undefined) {
    const redis = new Redis(config.REDIS_URL, {
      connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false
    })
    // One line when the outage starts and one when it ends, however many requests it spans.
    let outageLogged = false
    const reportOutage = (error: Error | undefined): void => {
      if (outageLogged) return
      outageLogged = true
      fastify.log.warn({ err: error }, 'rate-limit store (Redis) unavailable; counting per-IP limits in process')
    }
    redis.on('error', reportOutage)
    redis.on('ready', () => {
      if (!outageLogged) return
      outageLogged = false
      fastify.log.info('rate-limit store (Redis) reachable again; per-IP limits shared again')
    })
    fastify.addHook('onClose', async () => { redis.disconnect() })
    store = createFallbackStore(redis, NAME_SPACE, reportOutage)
    const health = store.health
    mode = () => health.degraded() ? 'memory-fallback' : 'redis'
    // Give Redis a moment to connect, so the first requests after start are shared.
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); resolve() }
      const timer = setTimeout(done, 1000)
      redis.once('ready', done)
    })
  }

  await fastify.register(rateLimit, {
    global: false,
    ...(store === undefined ? {} : { store: store.Store }),
    nameSpace: NAME_SPACE,
    // The fallback store never fails; an error here would be a bug, and a bug must not lift limits.
    skipOnError: false,
    ipv6Subnet: 64,
    onExceeded: (request) => { fastify.metrics.rateLimited(request.routeOptions.url ?? 'unmatched') },
    errorResponseBuilder: (_request, context) =>
      rateLimited(`Too many requests; retry in ${context.after}`, Math.max(1, Math.ceil(context.ttl / 1000)))
  })
}, { name: 'rate-limit', dependencies: ['config', 'metrics'], fastify: '5.x' })
