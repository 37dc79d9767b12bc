import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { insertAuditEvent, type AuditEventType } from '../../db/repositories/audit-events.js'
import { findRefreshTokenByHash } from '../../db/repositories/refresh-tokens.js'
import { findSessionById, revokeSessions, revokeSessionsOfUser } from '../../db/repositories/sessions.js'
import type { Clock } from '../../lib/clock.js'
import type { RequestContext } from '../request-context.js'
import { hashRefreshToken, looksLikeRefreshToken } from './refresh-token.js'

export interface RevocationDeps {
  db: Kysely<Database>
  clock: Clock
  /** Told, once their revocation has committed, which sessions this instance revoked. */
  sessionsRevoked: (sessionIds: readonly string[]) => void
}

/**
 * Revocation ends a session for good: its refresh tokens stop working at the next refresh, and
 * its access tokens fail the session check of /auth routes and introspection at once.
 */
export async function revokeSessionOfRefreshToken (
  deps: RevocationDeps, token: string, reason: AuditEventType, context: RequestContext
): Promise<{ sessionId: string, userId: string } | undefined> {
  if (!looksLikeRefreshToken(token)) return undefined
  const found = await findRefreshTokenByHash(deps.db, hashRefreshToken(token))
  if (found === undefined) return undefined
  const session = await findSessionById(deps.db, found.session_id)
  if (session === undefined) return undefined
  await revokeOne(deps, session.user_id, session.id, reason, context)
  return { sessionId: session.id, userId: session.user_id }
}

/** Revoke one of the user's sessions; false when it is not theirs (or does not exist). */
export async function revokeUserSession (
  deps: RevocationDeps, userId: string, sessionId: string, reason: AuditEventType, context: RequestContext
): Promise<boolean> {
  const session = await findSessionById(deps.db, sessionId)
  if (session === undefined || session.user_id !== userId) return false
  await revokeOne(deps, userId, sessionId, reason, context)
  return true
}

/** Revoke every session of a user, optionally sparing the caller's own. */
export async function revokeAllUserSessions (
  deps: RevocationDeps, userId: string, reason: AuditEventType, context: RequestContext, except?: string
): Promise<number> {
  const now = deps.clock.now()
  const revoked = await deps.db.transaction().execute(async (trx) => {
    const ids = await revokeSessionsOfUser(trx, userId, now, reason, except)
    await insertAuditEvent(trx, { type: reason, userId, ...context, detail: { sessions: ids.length } }, now)
    return ids
  })
  deps.sessionsRevoked(revoked)
  return revoked.length
}

async function revokeOne (
  deps: RevocationDeps, userId: string, sessionId: string, reason: AuditEventType, context: RequestContext
): Promise<void> {
  const now = deps.clock.now()
  const revoked = await deps.db.transaction().execute(async (trx) => {
    const ids = await revokeSessions(trx, [sessionId], now, reason)
    await insertAuditEvent(trx, { type: reason, userId, sessionId, ...context }, now)
    return ids
  })
  deps.sessionsRevoked(revoked)
}
