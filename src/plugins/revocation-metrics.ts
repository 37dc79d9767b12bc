import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { FeedHub } from '../domain/revocations/feed-hub.js'

export interface RevocationMetrics {
  fannedOut: (reason: string, lagSeconds: number) => void
  clients: (count: number) => void
}

/**
 * The feed's metrics. Records are counted as this instance's poller reads them: every instance sees
 * every revocation of the deployment, so aggregate across instances with max, not sum. A scrape
 * starts the poller, so an instance without streams still counts.
 */
export function createRevocationMetrics (register: Registry, hub: () => FeedHub): RevocationMetrics {
  const registers = [register]
  const recorded = new Counter({
    name: 'revocations_recorded_total',
    help: 'Session revocations recorded in the deployment (read from the feed by this instance), by reason',
    labelNames: ['reason'] as const,
    registers
  })
  const clients = new Gauge({
    name: 'revocation_stream_clients',
    help: 'Revocation streams (GET /revocations/stream) connected to this instance',
    registers,
    collect () { hub().start() }
  })
  const lag = new Histogram({
    name: 'revocation_feed_lag_seconds',
    help: 'Time from a revocation to its fan-out to this instance\'s streams',
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10],
    registers
  })
  return {
    fannedOut: (reason, lagSeconds) => { recorded.inc({ reason }); lag.observe(lagSeconds) },
    clients: (count) => { clients.set(count) }
  }
}
