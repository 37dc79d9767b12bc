import { CompiledQuery, sql, type Kysely, type UpdateQueryBuilder, type UpdateResult } from 'kysely'
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

// The statement of every guarded request: its text is built once, not by the query builder per call.
const SESSION_WITH_USER = 'SELECT sessions.*, users.email AS user_email, users.created_at AS user_created_at ' +
  'FROM sessions LEFT JOIN users ON users.id = sessions.user_id WHERE sessions.id = $1'

/** A session with the public columns of its user, in one query: what the access-token guard reads per request. */
export async function findSessionWithUser (db: Kysely<Database>, id: string): Promise<SessionWithUser | undefined> {
  return (await db.executeQuery<SessionWithUser>(CompiledQuery.raw(SESSION_WITH_USER, [id]))).rows[0]
}

export type SessionWithUser = SessionRow & { user_email: string | null, user_created_at: Date | null }

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

/**
 * Revoke sessions (idempotent: already revoked ones keep their first reason); returns the ids revoked
 * now. Each one revoked gets its revocation record in the same statement, so no revocation can exist
 * without its record in the feed, nor a record without its revocation.
 */
export async function revokeSessions (
  db: Kysely<Database>, ids: readonly string[], now: Date, reason: string
): Promise<string[]> {
  if (ids.length === 0) return []
  return await revokeAndRecord(db, now, reason, (query) => query.where('id', 'in', ids))
}

/** Revoke every live session of a user, optionally sparing one; returns the ids revoked (and recorded). */
export async function revokeSessionsOfUser (
  db: Kysely<Database>, userId: string, now: Date, reason: string, except?: string
): Promise<string[]> {
  return await revokeAndRecord(db, now, reason, (query) => {
    const ofUser = query.where('user_id', '=', userId)
    return except === undefined ? ofUser : ofUser.where('id', '!=', except)
  })
}

type RevokeQuery = UpdateQueryBuilder<Database, 'sessions', 'sessions', UpdateResult>

// One statement: the UPDATE in a data-modifying CTE feeds the INSERT of the records.
async function revokeAndRecord (
  db: Kysely<Database>, now: Date, reason: string, which: (query: RevokeQuery) => RevokeQuery
): Promise<string[]> {
  const rows = await db
    .with('revoked', (qb) => which(qb.updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('revoked_at', 'is', null))
      .returning('id'))
    .insertInto('session_revocations')
    .columns(['session_id', 'reason', 'revoked_at'])
    .expression((eb) => eb.selectFrom('revoked').select([
      'revoked.id', sql<string>`${reason}::text`.as('reason'), sql<Date>`${now}::timestamptz`.as('revoked_at')
    ]))
    .returning('session_id')
    .execute()
  return rows.map((row) => row.session_id)
}
