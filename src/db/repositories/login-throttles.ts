import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Database } from '../database.js'

export interface ThrottleKey {
  email: string
  source: string
}

export interface AttemptPolicy {
  /** Attempts admitted in a window before back-off starts. */
  freeAttempts: number
  /** The longest back-off; a window lasts as long. */
  maxBackoffSeconds: number
}

export interface AttemptVerdict {
  admitted: boolean
  /** When the current back-off ends, if one is running. */
  blockedUntil: Date | null
}

/**
 * Count one login attempt and decide, in one statement, whether it may go on to the password
 * check. Counting before the (slow) hash check, under the row lock the upsert takes, is what makes
 * the limit hold for a burst of parallel attempts: each one sees the count the previous ones left.
 * An attempt made while a back-off runs is refused and not counted; the attempt that goes over the
 * free allowance is admitted and starts the next back-off (1, 2, 4 … seconds, capped).
 */
export async function countLoginAttempt (
  db: Kysely<Database>, key: ThrottleKey, now: Date, policy: AttemptPolicy
): Promise<AttemptVerdict> {
  const at = sql`${now.toISOString()}::timestamptz`
  const windowStart = sql`${new Date(now.getTime() - policy.maxBackoffSeconds * 1000).toISOString()}::timestamptz`
  const free = sql`${policy.freeAttempts}::int`
  const max = sql`${policy.maxBackoffSeconds}::int`
  const backoffAfter = (attempts: RawBuilder<unknown>): RawBuilder<unknown> =>
    sql`CASE WHEN ${attempts} >= ${free}
      THEN ${at} + interval '1 second' * least(${max}, power(2, least(30, ${attempts} - ${free})))
      ELSE NULL END`
  const blocked = sql`t.blocked_until IS NOT NULL AND t.blocked_until > ${at}`
  const expired = sql`t.window_started_at < ${windowStart}`
  const result = await sql<{ last_attempt_admitted: boolean, blocked_until: Date | null }>`
    INSERT INTO login_throttles AS t (email, source, attempts, window_started_at, blocked_until, last_attempt_admitted)
    VALUES (${key.email}, ${key.source}, 1, ${at}, ${backoffAfter(sql`1`)}, true)
    ON CONFLICT (email, source) DO UPDATE SET
      attempts = CASE WHEN ${blocked} THEN t.attempts WHEN ${expired} THEN 1 ELSE t.attempts + 1 END,
      window_started_at = CASE WHEN ${blocked} OR NOT ${expired} THEN t.window_started_at ELSE ${at} END,
      blocked_until = CASE WHEN ${blocked} THEN t.blocked_until
        WHEN ${expired} THEN ${backoffAfter(sql`1`)}
        ELSE ${backoffAfter(sql`(t.attempts + 1)`)} END,
      last_attempt_admitted = NOT (${blocked})
    RETURNING last_attempt_admitted, blocked_until`.execute(db)
  const row = result.rows[0]!
  return { admitted: row.last_attempt_admitted, blockedUntil: row.blocked_until === null ? null : new Date(row.blocked_until) }
}

/** A correct password from this source ends its count; other sources keep theirs. */
export async function clearLoginAttempts (db: Kysely<Database>, key: ThrottleKey): Promise<void> {
  await db.deleteFrom('login_throttles').where('email', '=', key.email).where('source', '=', key.source).execute()
}

export async function deleteStaleThrottles (db: Kysely<Database>, before: Date): Promise<void> {
  await db.deleteFrom('login_throttles')
    .where('window_started_at', '<', before)
    .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', before)]))
    .execute()
}
