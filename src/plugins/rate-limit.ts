import fp from 'fastify-plugin'
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit'
import { Redis } from 'ioredis'
import { AppError } from '../errors.js'

export type RateLimitPreset = 'register' | 'login' | 'refresh' | 'token'

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-route limits: `config: { rateLimit: fastify.rateLimits.login }`. */
    rateLimits: Record<RateLimitPreset, RateLimitOptions | false>
  }
}

/**
 * Per-IP limits on the endpoints that take credentials or mint tokens (README, Security), with
 * @fastify/rate-limit. Counters live in Redis when REDIS_URL is set, so that every instance
 * shares them; in process memory otherwise. The client IP is Fastify's `request.ip`, which
 * honours X-Forwarded-For only when TRUST_PROXY says so; IPv6 clients are grouped by /64.
 * A Redis outage lets requests through (logged): the per-account login back-off in the
 * database still holds, and authentication stays available.
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
  if (!config.RATE_LIMIT_ENABLED) return

  let redis: Redis | undefined
  if (config.REDIS_URL !== undefined) {
    redis = new Redis(config.REDIS_URL, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false })
    redis.on('error', (error) => { fastify.log.warn({ err: error }, 'rate-limit store (Redis) error') })
    fastify.addHook('onClose', async () => { redis?.disconnect() })
    // Give Redis a moment to connect, so the first requests after start are counted.
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); resolve() }
      const timer = setTimeout(done, 1000)
      redis?.once('ready', done)
    })
  }

  await fastify.register(rateLimit, {
    global: false,
    ...(redis === undefined ? {} : { redis }),
    nameSpace: 'token-service:rate-limit:',
    skipOnError: true,
    ipv6Subnet: 64,
    onExceeded: (request) => { fastify.metrics.rateLimited(request.routeOptions.url ?? 'unmatched') },
    errorResponseBuilder: (_request, context) => new AppError('rate_limited', `Too many requests; retry in ${context.after}`, {
      headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) }
    })
  })
}, { name: 'rate-limit', dependencies: ['config', 'metrics'], fastify: '5.x' })
