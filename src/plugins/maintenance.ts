import fp from 'fastify-plugin'
import { pruneExpired } from '../domain/sessions/prune.js'
import { feedWindowSeconds } from './revocations.js'

const PRUNE_INTERVAL_MS = 10 * 60 * 1000
const KEEP_ENDED_SESSIONS_SECONDS = 7 * 86_400

/** A periodic, non-blocking clean-up of expired sessions and tokens (see pruneExpired). */
export default fp(async function maintenancePlugin (fastify) {
  const { config } = fastify
  const prune = async (): Promise<void> => {
    const deleted = await pruneExpired(fastify.db, fastify.clock.now(), {
      graceSeconds: config.REFRESH_REUSE_GRACE_SECONDS,
      idleSeconds: config.SESSION_IDLE_TTL,
      keepEndedSessionsSeconds: KEEP_ENDED_SESSIONS_SECONDS,
      throttleWindowSeconds: config.LOGIN_BACKOFF_MAX_SECONDS,
      keepRevocationRecordsSeconds: feedWindowSeconds(config.ACCESS_TOKEN_TTL)
    })
    if (deleted > 0) fastify.log.info({ deleted }, 'pruned ended sessions')
  }
  const timer = setInterval(() => {
    prune().catch((error: unknown) => { fastify.log.warn({ err: error }, 'pruning failed; will retry') })
  }, PRUNE_INTERVAL_MS)
  timer.unref()
  fastify.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'maintenance', dependencies: ['config', 'db'], fastify: '5.x' })
