import type { Kysely } from 'kysely'
import type { Database, SessionRow } from '../../db/database.js'
import { findSessionById, findSessionWithUser } from '../../db/repositories/sessions.js'

/** A session is live until it is revoked, reaches its absolute expiry, or sits idle too long. */
export function isSessionLive (session: Pick<SessionRow, 'revoked_at' | 'expires_at' | 'last_used_at'>, now: Date, idleSeconds: number): boolean {
  return session.revoked_at === null &&
    session.expires_at.getTime() > now.getTime() &&
    session.last_used_at.getTime() + idleSeconds * 1000 > now.getTime()
}

/** The session if it exists and is live at `now`. */
export async function findLiveSession (db: Kysely<Database>, sessionId: string, now: Date, idleSeconds: number): Promise<SessionRow | undefined> {
  const session = await findSessionById(db, sessionId)
  return session !== undefined && isSessionLive(session, now, idleSeconds) ? session : undefined
}

/** A live session and its user (undefined if the user no longer exists), read in one query. */
export async function findLiveSessionWithUser (
  db: Kysely<Database>, sessionId: string, now: Date, idleSeconds: number
): Promise<{ session: SessionRow, user: { id: string, email: string, created_at: Date } | undefined } | undefined> {
  const row = await findSessionWithUser(db, sessionId)
  if (row === undefined || !isSessionLive(row, now, idleSeconds)) return undefined
  const { user_email: email, user_created_at: createdAt, ...session } = row
  const user = email === null || createdAt === null ? undefined : { id: row.user_id, email, created_at: createdAt }
  return { session, user }
}
