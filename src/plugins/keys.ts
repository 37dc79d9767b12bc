import fp from 'fastify-plugin'
import { KEY_RELOAD_INTERVAL_SECONDS, keyRingDeps } from '../domain/keys/key-ring-deps.js'
import { KeyStore } from '../domain/keys/key-store.js'

declare module 'fastify' {
  interface FastifyInstance { keys: KeyStore }
}

const ROTATION_CHECK_INTERVAL_MS = 60 * 60 * 1000

/**
 * Signing keys from the database: the current one signs, all published ones verify. Retired
 * keys stay published for the access-token lifetime plus two reload intervals (an instance may
 * sign with a just-retired key until it next reloads) plus clock skew.
 */
export default fp(async function keysPlugin (fastify) {
  const { config } = fastify
  const keys = new KeyStore(keyRingDeps(config, fastify.db, fastify.clock))
  let algorithmChangePending = false
  const initialize = async (): Promise<void> => {
    const wasPending = algorithmChangePending
    const { pendingAlgorithmChange: pending } = await keys.initialize()
    algorithmChangePending = pending !== undefined
    if (pending === undefined) {
      if (wasPending) {
        const { kid, alg } = keys.signingKey()
        fastify.log.info({ kid, alg }, 'signing key rotated')
      }
      return
    }
    if (wasPending) return // said once, at start
    fastify.log.warn({ kid: pending.kid, readyAt: pending.readyAt.toISOString() },
      `JWT_ALG is ${pending.to}, but its key is too new for verifiers' caches: signing with ${pending.from} until then`)
  }
  await initialize()
  // Also at start: an instance restarted more often than the hourly check must still rotate.
  if (await keys.rotateIfDue(config.KEY_ROTATION_DAYS)) {
    fastify.log.info({ kid: keys.signingKey().kid }, 'signing key rotated')
  }
  fastify.decorate('keys', keys)

  let lastRotationCheck = Date.now()
  const timer = setInterval(() => {
    const due = Date.now() - lastRotationCheck >= ROTATION_CHECK_INTERVAL_MS
    if (due) lastRotationCheck = Date.now()
    // A JWT_ALG change waiting for its key to be cached completes on the first tick it may.
    const work = algorithmChangePending
      ? initialize()
      : due ? keys.rotateIfDue(config.KEY_ROTATION_DAYS) : keys.reload()
    work.then((rotated) => {
      if (rotated === true) fastify.log.info({ kid: keys.signingKey().kid }, 'signing key rotated')
    }, (error: unknown) => {
      // The previous keys stay in memory: tokens keep being signed and the JWKS keeps being served.
      fastify.log.warn({ err: error }, 'could not reload signing keys; keeping the ones in memory')
    })
  }, KEY_RELOAD_INTERVAL_SECONDS * 1000)
  timer.unref()
  fastify.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'keys', dependencies: ['config', 'db'], fastify: '5.x' })
