import { sql, type Kysely } from 'kysely'
import type { Database } from '../database.js'

export async function findBlockedUntil (db: Kysely<Database>, email: string): Promise<Date | null> {
  const row = await db.selectFrom('login_throttles').select('blocked_until').where('email', '=', email).executeTakeFirst()
  return row?.blocked_until ?? null
}

/**
 * Count one failure atomically (an upsert, so concurrent failures on several instances all count)
 * and return the failures in the current window. A window older than `windowSeconds` restarts.
 */
export async function recordLoginFailure (db: Kysely<Database>, email: string, now: Date, windowSeconds: number): Promise<number> {
  const windowStart = new Date(now.getTime() - windowSeconds * 1000)
  const row = await db.insertInto('login_throttles')
    .values({ email, failures: 1, window_started_at: now, blocked_until: null })
    .onConflict((oc) => oc.column('email').doUpdateSet({
      failures: sql<number>`case when login_throttles.window_started_at < ${windowStart} then 1 else login_throttles.failures + 1 end`,
      window_started_at: sql<Date>`case when login_throttles.window_started_at < ${windowStart} then ${now} else login_throttles.window_started_at end`
    }))
    .returning('failures')
    .executeTakeFirstOrThrow()
  return row.failures
}

export async function setBlockedUntil (db: Kysely<Database>, email: string, until: Date): Promise<void> {
  await db.updateTable('login_throttles').set({ blocked_until: until }).where('email', '=', email).execute()
}

export async function clearLoginFailures (db: Kysely<Database>, email: string): Promise<void> {
  await db.deleteFrom('login_throttles').where('email', '=', email).execute()
}

export async function deleteStaleThrottles (db: Kysely<Database>, before: Date): Promise<void> {
  await db.deleteFrom('login_throttles')
    .where('window_started_at', '<', before)
    .where((eb) => eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', before)]))
    .execute()
}
