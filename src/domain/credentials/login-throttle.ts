import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { clearLoginFailures, findBlockedUntil, recordLoginFailure, setBlockedUntil } from '../../db/repositories/login-throttles.js'
import { AppError } from '../../errors.js'
import { addSeconds, type Clock } from '../../lib/clock.js'

export interface LoginThrottlePolicy {
  /** Failures allowed in a window before back-off starts (LOGIN_FAILURES_BEFORE_BACKOFF). */
  freeFailures: number
  /** The longest back-off (LOGIN_BACKOFF_MAX_SECONDS); the window is as long. */
  maxBackoffSeconds: number
}

/**
 * Exponential back-off per account: after `freeFailures` failures, each further failure blocks
 * the account for 1, 2, 4 … seconds, capped at `maxBackoffSeconds`. The block always ends by
 * itself and a success clears the count, so an attacker can slow a victim down but never lock
 * them out for good. Kept in the database, so every instance sees the same count. Unknown emails
 * are throttled exactly like real ones, so the throttle reveals nothing about who has an account.
 */
export function backoffSeconds (failures: number, policy: LoginThrottlePolicy): number {
  if (failures < policy.freeFailures) return 0
  return Math.min(policy.maxBackoffSeconds, 2 ** Math.min(30, failures - policy.freeFailures))
}

export async function assertNotThrottled (db: Kysely<Database>, clock: Clock, email: string): Promise<void> {
  const blockedUntil = await findBlockedUntil(db, email)
  const now = clock.now()
  if (blockedUntil !== null && blockedUntil > now) {
    const retryAfter = Math.max(1, Math.ceil((blockedUntil.getTime() - now.getTime()) / 1000))
    throw new AppError('rate_limited', 'Too many failed logins for this account; try again later', { headers: { 'retry-after': String(retryAfter) } })
  }
}

export async function recordFailedLogin (db: Kysely<Database>, clock: Clock, email: string, policy: LoginThrottlePolicy): Promise<void> {
  const now = clock.now()
  const failures = await recordLoginFailure(db, email, now, policy.maxBackoffSeconds)
  const backoff = backoffSeconds(failures, policy)
  if (backoff > 0) await setBlockedUntil(db, email, addSeconds(now, backoff))
}

export async function recordSuccessfulLogin (db: Kysely<Database>, email: string): Promise<void> {
  await clearLoginFailures(db, email)
}
