import { createRequire } from 'node:module'
import type { FastifyRateLimitOptions, FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Redis } from 'ioredis'

type IncrCallback = (error: Error | null, result?: { current: number, ttl: number }) => void
type RouteOptions = Parameters<FastifyRateLimitStore['child']>[0]
interface StoreCtor {
  new (continueExceeding: boolean, exponentialBackoff: boolean, ...rest: unknown[]): FastifyRateLimitStore
}

// @fastify/rate-limit's own stores (not re-exported by its index), reused rather than copied.
const require = createRequire(import.meta.url)
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreCtor
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreCtor

/** Whether the shared store answers; read by the metric and /health/ready. */
export interface StoreHealth {
  /** True while requests are counted in process because Redis is unreachable or failing. */
  degraded: () => boolean
}

/**
 * A rate-limit store that counts in Redis (shared by every instance) and falls back to in-process
 * counters whenever Redis is not connected or a command fails, so an outage never switches the
 * limits off (`skipOnError` would let every request through). The in-process counters run all the
 * time, so the fallback starts from this instance's share of the window rather than from zero.
 * `onError` is told about each failed or skipped Redis call (for logging); the store goes back to
 * Redis by itself once the client reconnects and a command succeeds.
 */
export function createFallbackStore (redis: Redis, nameSpace: string, onError: (error: Error | undefined) => void): {
  Store: FastifyRateLimitStoreCtor
  health: StoreHealth
} {
  let lastCommandFailed = false
  const health: StoreHealth = { degraded: () => lastCommandFailed || redis.status !== 'ready' }

  class FallbackStore implements FastifyRateLimitStore {
    readonly #shared: FastifyRateLimitStore
    readonly #local: FastifyRateLimitStore

    constructor (options: FastifyRateLimitOptions, shared?: FastifyRateLimitStore, local?: FastifyRateLimitStore) {
      // The plugin passes its merged settings (typed as an empty interface by @fastify/rate-limit).
      const settings = options as { continueExceeding?: boolean, exponentialBackoff?: boolean, cache?: number }
      const continueExceeding = settings.continueExceeding === true
      const exponentialBackoff = settings.exponentialBackoff === true
      this.#shared = shared ?? new RedisStore(continueExceeding, exponentialBackoff, redis, nameSpace)
      this.#local = local ?? new LocalStore(continueExceeding, exponentialBackoff, settings.cache)
    }

    incr (key: string, callback: IncrCallback, timeWindow: number, max: number): void {
      this.#local.incr(key, (localError, localResult) => {
        if (localError !== null) { callback(localError); return }
        if (redis.status !== 'ready') {
          onError(undefined)
          callback(null, localResult)
          return
        }
        this.#shared.incr(key, (error, result) => {
          lastCommandFailed = error !== null
          if (error !== null) {
            onError(error)
            callback(null, localResult)
            return
          }
          callback(null, result)
        }, timeWindow, max)
      }, timeWindow, max)
    }

    child (routeOptions: RouteOptions): FastifyRateLimitStore {
      const options = routeOptions as FastifyRateLimitOptions
      return new FallbackStore(options, this.#shared.child(routeOptions), this.#local.child(routeOptions))
    }
  }

  return { Store: FallbackStore, health }
}
