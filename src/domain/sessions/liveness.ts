import type { Kysely } from 'kysely'
import type { Database, SessionRow } from '../../db/database.js'
import { findSessionById } from '../../db/repositories/sessions.js'

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
