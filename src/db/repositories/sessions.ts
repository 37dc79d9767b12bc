import type { Kysely } from 'kysely'
import type { Database, SessionRow } from '../database.js'

export interface NewSession {
  id: string
  userId: string
  clientId: string
  delivery: 'cookie' | 'body'
  scope: string | null
  userAgent: string | null
  ip: string | null
  now: Date
  expiresAt: Date
}

export async function insertSession (db: Kysely<Database>, session: NewSession): Promise<SessionRow> {
  return await db.insertInto('sessions').values({
    id: session.id,
    user_id: session.userId,
    client_id: session.clientId,
    delivery: session.delivery,
    scope: session.scope,
    user_agent: session.userAgent,
    ip: session.ip,
    created_at: session.now,
    last_used_at: session.now,
    expires_at: session.expiresAt
  }).returningAll().executeTakeFirstOrThrow()
}

export async function findSessionById (db: Kysely<Database>, id: string): Promise<SessionRow | undefined> {
  return await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Lock a session row: every change to a session's tokens happens under this lock. */
export async function findSessionForUpdate (db: Kysely<Database>, id: string): Promise<SessionRow | undefined> {
  return await db.selectFrom('sessions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

/** Sessions not revoked and not past their absolute expiry, newest first. */
export async function findLiveSessionsOfUser (db: Kysely<Database>, userId: string, now: Date): Promise<SessionRow[]> {
  return await db.selectFrom('sessions').selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
}

export async function touchSession (db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', id).execute()
}

/** Revoke sessions (idempotent: already revoked ones keep their first reason); returns the ids revoked now. */
export async function revokeSessions (db: Kysely<Database>, ids: readonly string[], now: Date, reason: string): Promise<string[]> {
  if (ids.length === 0) return []
  const rows = await db.updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', 'in', ids)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute()
  return rows.map((row) => row.id)
}

/** Revoke every live session of a user, optionally sparing one; returns the ids revoked. */
export async function revokeSessionsOfUser (db: Kysely<Database>, userId: string, now: Date, reason: string, except?: string): Promise<string[]> {
  let query = db.updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
  if (except !== undefined) query = query.where('id', '!=', except)
  return (await query.returning('id').execute()).map((row) => row.id)
}
