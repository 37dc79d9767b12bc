import type { Kysely } from 'kysely'
import type { Database, SessionRow } from '../../db/database.js'
import { findSessionById, findSessionWithUser } from '../../db/repositories/sessions.js'

export interface SessionTimes {
  revokedAt: Date | null
  expiresAt: Date
  lastUsedAt: Date
}

export type SessionEnd = 'revoked' | 'absolute' | 'idle'

/**
 * Why a session has ended at `now`, or undefined while it is live: the one liveness rule, used by
 * the refresh policy, the access-token guard, introspection and the session list.
 */
export function sessionEnd (session: SessionTimes, now: Date, idleSeconds: number): SessionEnd | undefined {
  // A revoked session (logout, password change, earlier reuse) accepts nothing, not even in grace.
  if (session.revokedAt !== null) return 'revoked'
  // Rotation never extends a session past its absolute lifetime.
  if (now.getTime() >= session.expiresAt.getTime()) return 'absolute'
  // A session nobody refreshed for the idle timeout ends, even if its absolute lifetime remains.
  if (now.getTime() >= session.lastUsedAt.getTime() + idleSeconds * 1000) return 'idle'
  return undefined
}

type SessionTimeColumns = Pick<SessionRow, 'revoked_at' | 'expires_at' | 'last_used_at'>

/** A session row is live until it is revoked, reaches its absolute expiry, or sits idle too long. */
export const isSessionLive = (session: SessionTimeColumns, now: Date, idleSeconds: number): boolean =>
  sessionEnd(timesOf(session), now, idleSeconds) === undefined

const timesOf = (row: SessionTimeColumns): SessionTimes =>
  ({ revokedAt: row.revoked_at, expiresAt: row.expires_at, lastUsedAt: row.last_used_at })

/** The session if it exists and is live at `now`. */
export async function findLiveSession (
  db: Kysely<Database>, sessionId: string, now: Date, idleSeconds: number
): Promise<SessionRow | undefined> {
  const session = await findSessionById(db, sessionId)
  return session !== undefined && isSessionLive(session, now, idleSeconds) ? session : undefined
}

export interface SessionUser { id: string, email: string, created_at: Date }

/** A live session and its user (undefined if the user no longer exists), read in one query. */
export async function findLiveSessionWithUser (
  db: Kysely<Database>, sessionId: string, now: Date, idleSeconds: number
): Promise<{ session: SessionRow, user: SessionUser | undefined } | undefined> {
  const row = await findSessionWithUser(db, sessionId)
  if (row === undefined || !isSessionLive(row, now, idleSeconds)) return undefined
  const { user_email: email, user_created_at: createdAt, ...session } = row
  const user = email === null || createdAt === null ? undefined : { id: row.user_id, email, created_at: createdAt }
  return { session, user }
}
