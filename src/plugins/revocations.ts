import fp from 'fastify-plugin'
import { FeedHub } from '../domain/revocations/feed-hub.js'
import { createRevocationMetrics } from './revocation-metrics.js'

declare module 'fastify' {
  interface FastifyInstance { revocationFeed: FeedHub }
}

/** Older records than this are of no use to a verifier: no unexpired access token of theirs is left. */
export const feedWindowSeconds = (accessTokenTtl: number): number => accessTokenTtl + 60

// Feed read failures are logged at most this often, however short the poll interval.
const ERROR_LOG_INTERVAL_MS = 10_000

/**
 * The instance's single revocation poller and the streams it fans out to. Streams are ended when
 * close() starts (preClose), so that open streams never hold a shutting-down server open.
 */
export default fp(async function revocationsPlugin (fastify) {
  const { config } = fastify
  let lastErrorLog = 0
  const metrics = createRevocationMetrics(fastify.metricsRegistry, () => hub)
  const hub: FeedHub = new FeedHub({
    db: fastify.db,
    clock: fastify.clock,
    windowSeconds: feedWindowSeconds(config.ACCESS_TOKEN_TTL),
    pollIntervalMs: config.REVOCATIONS_POLL_INTERVAL_MS,
    heartbeatMs: config.REVOCATIONS_HEARTBEAT_SECONDS * 1000,
    staleAfterMs: Math.max(5000, 10 * config.REVOCATIONS_POLL_INTERVAL_MS),
    onFanOut: (record, lagSeconds) => { metrics.fannedOut(record.reason, lagSeconds) },
    onClients: metrics.clients,
    onError: (error) => {
      if (Date.now() - lastErrorLog < ERROR_LOG_INTERVAL_MS) return
      lastErrorLog = Date.now()
      fastify.log.warn({ err: error }, 'reading the revocation feed failed; will retry')
    }
  })
  fastify.decorate('revocationFeed', hub)
  fastify.addHook('preClose', async () => { hub.close() })
}, { name: 'revocations', dependencies: ['config', 'db', 'metrics'], fastify: '5.x' })
