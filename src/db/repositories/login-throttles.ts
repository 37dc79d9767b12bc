import { sql, type Kysely } from 'kysely'
import type { Database } from '../database.js'

export interface ThrottleKey {
  email: string
  source: string
}

export interface AttemptPolicy {
  /** Failures allowed in a window before back-off starts. */
  freeFailures: number
  /** The longest back-off; a window lasts as long. */
  maxBackoffSeconds: number
}

/**
 * - admitted: go on to the password check (and settle the attempt afterwards);
 * - blocked: a back-off runs, or the allowance is used up by failures and attempts in flight;
 * - busy: the allowance is taken by attempts still being checked; ask again in a moment.
 */
export type AttemptVerdict =
  | { kind: 'admitted' }
  | { kind: 'blocked', blockedUntil: Date | null }
  | { kind: 'busy' }

export type AttemptResult = 'success' | 'failure' | 'abandoned'

// An attempt in flight for longer than this was lost (a crashed instance); its slot is reclaimed.
const STALE_PENDING_SECONDS = 30

const timestamp = (date: Date) => sql`${date.toISOString()}::timestamptz`

/**
 * Decide, in one statement under the row lock an upsert takes, whether an attempt may go on to
 * the (slow) password check. Attempts in flight count against the allowance with the failures, so
 * a burst of parallel guesses is cut exactly at the limit instead of all reaching a verdict; a
 * burst of correct passwords only waits for the attempts ahead of it, which succeed and free
 * their slots. After the allowance, one attempt at a time is admitted when each back-off ends.
 */
export async function admitLoginAttempt (
  db: Kysely<Database>, key: ThrottleKey, now: Date, policy: AttemptPolicy
): Promise<AttemptVerdict> {
  const at = timestamp(now)
  const windowStart = timestamp(new Date(now.getTime() - policy.maxBackoffSeconds * 1000))
  const staleBefore = timestamp(new Date(now.getTime() - STALE_PENDING_SECONDS * 1000))
  const free = sql`${policy.freeFailures}::int`
  const blocked = sql`(t.blocked_until IS NOT NULL AND t.blocked_until > ${at})`
  const expired = sql`(t.window_started_at < ${windowStart} AND NOT ${blocked})`
  const failures = sql`(CASE WHEN ${expired} THEN 0 ELSE t.failures END)`
  const pending = sql`(CASE WHEN t.pending_since IS NULL OR t.pending_since < ${staleBefore} THEN 0 ELSE t.pending END)`
  const admit = sql`(NOT ${blocked}
    AND (${failures} + ${pending} < ${free} OR (${failures} >= ${free} AND ${pending} = 0)))`
  const result = await sql<{ verdict: string, blocked_until: Date | string | null }>`
    INSERT INTO login_throttles AS t (email, source, failures, pending, pending_since, window_started_at, verdict)
    VALUES (${key.email}, ${key.source}, 0, 1, ${at}, ${at}, 'admitted')
    ON CONFLICT (email, source) DO UPDATE SET
      failures = ${failures},
      pending = ${pending} + CASE WHEN ${admit} THEN 1 ELSE 0 END,
      pending_since = CASE WHEN ${admit} THEN ${at} ELSE t.pending_since END,
      window_started_at = CASE WHEN ${expired} THEN ${at} ELSE t.window_started_at END,
      verdict = CASE WHEN ${admit} THEN 'admitted'
        WHEN ${blocked} OR ${failures} >= ${free} THEN 'blocked'
        ELSE 'busy' END
    RETURNING verdict, blocked_until`.execute(db)
  const row = result.rows[0]!
  if (row.verdict === 'admitted') return { kind: 'admitted' }
  if (row.verdict === 'busy') return { kind: 'busy' }
  return { kind: 'blocked', blockedUntil: row.blocked_until === null ? null : new Date(row.blocked_until) }
}

/**
 * Settle an admitted attempt: a failure counts (and from the allowance on starts a back-off of 1,
 * 2, 4 … seconds, capped), a success clears the count, an abandoned check (the server was too
 * busy to hash) only frees its slot.
 */
export async function settleLoginAttempt (
  db: Kysely<Database>, key: ThrottleKey, result: AttemptResult, now: Date, policy: AttemptPolicy
): Promise<void> {
  const at = timestamp(now)
  const free = sql`${policy.freeFailures}::int`
  const max = sql`${policy.maxBackoffSeconds}::int`
  const failures = result === 'failure' ? sql`failures + 1` : result === 'success' ? sql`0` : sql`failures`
  const blockedUntil = result === 'failure'
    ? sql`CASE WHEN failures + 1 >= ${free}
        THEN ${at} + interval '1 second' * least(${max}, power(2, least(30, failures + 1 - ${free})))
        ELSE blocked_until END`
    : result === 'success' ? sql`NULL` : sql`blocked_until`
  await sql`
    UPDATE login_throttles
    SET pending = greatest(0, pending - 1), failures = ${failures}, blocked_until = ${blockedUntil}
    WHERE email = ${key.email} AND source = ${key.source}`.execute(db)
}

export async function deleteStaleThrottles (db: Kysely<Database>, before: Date): Promise<void> {
  await db.deleteFrom('login_throttles')
    .where('window_started_at', '<', before)
    .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', before)]))
    .where((eb) => eb.or([eb('pending_since', 'is', null), eb('pending_since', '<', before)]))
    .execute()
}
