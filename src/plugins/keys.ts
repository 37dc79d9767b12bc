import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import type { KeyRingDeps } from '../domain/keys/key-ring.js'
import { KeyStore } from '../domain/keys/key-store.js'
import type { SigningAlgorithm } from '../domain/keys/signing-key.js'
import { systemClock } from '../lib/clock.js'
import { createSecretBox } from '../lib/secret-box.js'
import { JWKS_MAX_AGE_SECONDS } from '../routes/well-known.js'

declare module 'fastify' {
  interface FastifyInstance { keys: KeyStore }
}

/** How often an instance re-reads the key ring (so it follows rotations made elsewhere). */
export const KEY_RELOAD_INTERVAL_SECONDS = 60
const ROTATION_CHECK_INTERVAL_MS = 60 * 60 * 1000
export const CLOCK_SKEW_SECONDS = 60
/**
 * A next key signs only after this long in the JWKS: a verifier may cache the JWKS for its max-age,
 * and an instance serves a key it has not loaded yet for up to one reload interval.
 */
export const MIN_PUBLISHED_SECONDS = JWKS_MAX_AGE_SECONDS + KEY_RELOAD_INTERVAL_SECONDS // with the default max-age

/** The key ring's dependencies, as the server and `npm run keys:rotate` both build them. */
export function keyRingDeps (config: Config, db: Kysely<Database>): KeyRingDeps {
  if (config.KEY_ENCRYPTION_SECRET === undefined) throw new Error('KEY_ENCRYPTION_SECRET is required to store signing keys')
  return {
    db,
    clock: systemClock,
    secretBox: createSecretBox(config.KEY_ENCRYPTION_SECRET, 'signing-keys'),
    alg: config.JWT_ALG as SigningAlgorithm,
    retiredKeyRetentionSeconds: config.ACCESS_TOKEN_TTL + 2 * KEY_RELOAD_INTERVAL_SECONDS + CLOCK_SKEW_SECONDS,
    minPublishedSeconds: config.JWKS_MAX_AGE_SECONDS + KEY_RELOAD_INTERVAL_SECONDS
  }
}

/**
 * Signing keys from the database: the current one signs, all published ones verify. Retired
 * keys stay published for the access-token lifetime plus two reload intervals (an instance may
 * sign with a just-retired key until it next reloads) plus clock skew.
 */
export default fp(async function keysPlugin (fastify) {
  const { config } = fastify
  const keys = new KeyStore(keyRingDeps(config, fastify.db))
  let algorithmChangePending = false
  const initialize = async (): Promise<void> => {
    const wasPending = algorithmChangePending
    const { pendingAlgorithmChange: pending } = await keys.initialize()
    algorithmChangePending = pending !== undefined
    if (pending === undefined) {
      if (wasPending) fastify.log.info({ kid: keys.signingKey().kid, alg: keys.signingKey().alg }, 'signing key rotated')
      return
    }
    if (wasPending) return // said once, at start
    fastify.log.warn({ kid: pending.kid, readyAt: pending.readyAt.toISOString() },
      `JWT_ALG is ${pending.to}, but its key is too new for verifiers' caches: signing with ${pending.from} until then`)
  }
  await initialize()
  // Also at start: an instance restarted more often than the hourly check must still rotate.
  if (await keys.rotateIfDue(config.KEY_ROTATION_DAYS)) fastify.log.info({ kid: keys.signingKey().kid }, 'signing key rotated')
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
