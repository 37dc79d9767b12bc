import { createHash } from 'node:crypto'
import type { DatabaseHandle } from '../../src/db/connect.js'

/** What the session tests read from the database: rows, unspent tokens, audit events. The HTTP steps
 * (login, refresh, /auth/me, cookies) are in test/support/auth-steps.ts. */

/** SHA-256 base64url, computed here independently of the product code. */
export const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url')

export const secondsAgo = (seconds: number): Date => new Date(Date.now() - seconds * 1000)

export async function sessionRow (database: DatabaseHandle, sessionId: string) {
  return await database.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow()
}

export async function unspentTokenCount (database: DatabaseHandle, sessionId: string): Promise<number> {
  const rows = await database.db.selectFrom('refresh_tokens').select('id')
    .where('session_id', '=', sessionId).where('spent_at', 'is', null)
    .execute()
  return rows.length
}

/** Sessions of a user that are neither revoked nor past their absolute expiry. */
export async function liveSessionIds (database: DatabaseHandle, userId: string): Promise<string[]> {
  const rows = await database.db.selectFrom('sessions').select('id')
    .where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', new Date())
    .execute()
  return rows.map((row) => row.id)
}

export async function auditTypes (
  database: DatabaseHandle,
  filter: { userId?: string, sessionId?: string }
): Promise<string[]> {
  let query = database.db.selectFrom('audit_events').select('type')
  if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
  if (filter.sessionId !== undefined) query = query.where('session_id', '=', filter.sessionId)
  return (await query.execute()).map((row) => row.type)
}
