import type { Kysely } from 'kysely'
import type { Config } from '../../config.js'
import type { Database } from '../../db/database.js'
import { systemClock, type Clock } from '../../lib/clock.js'
import { createSecretBox } from '../../lib/secret-box.js'
import type { KeyRingDeps } from './key-ring.js'

/** How often an instance re-reads the key ring (so it follows rotations made elsewhere). */
export const KEY_RELOAD_INTERVAL_SECONDS = 60
export const CLOCK_SKEW_SECONDS = 60
/** The default of the JWKS_MAX_AGE_SECONDS setting: how long verifiers may cache the JWKS. */
export const DEFAULT_JWKS_MAX_AGE_SECONDS = 300
/**
 * A next key signs only after this long in the JWKS: a verifier may cache the JWKS for its max-age,
 * and an instance serves a key it has not loaded yet for up to one reload interval.
 */
export const minPublishedSeconds = (jwksMaxAgeSeconds: number): number =>
  jwksMaxAgeSeconds + KEY_RELOAD_INTERVAL_SECONDS

/** The key ring's dependencies, as the server and `npm run keys:rotate` both build them. */
export function keyRingDeps (config: Config, db: Kysely<Database>, clock: Clock = systemClock): KeyRingDeps {
  return {
    db,
    clock,
    secretBox: createSecretBox(config.KEY_ENCRYPTION_SECRET, 'signing-keys'),
    alg: config.JWT_ALG,
    // A retired key stays published while tokens it signed may live: an instance may sign with it
    // until its next reload, and clocks differ.
    retiredKeyRetentionSeconds: config.ACCESS_TOKEN_TTL + 2 * KEY_RELOAD_INTERVAL_SECONDS + CLOCK_SKEW_SECONDS,
    minPublishedSeconds: minPublishedSeconds(config.JWKS_MAX_AGE_SECONDS)
  }
}
