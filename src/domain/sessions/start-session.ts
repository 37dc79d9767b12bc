import { insertAuditEvent, type AuditEventType } from '../../db/repositories/audit-events.js'
import { insertRefreshToken } from '../../db/repositories/refresh-tokens.js'
import { findLiveSessionsOfUser, insertSession, revokeSessions } from '../../db/repositories/sessions.js'
import { findRolesOfUser } from '../../db/repositories/user-roles.js'
import { addSeconds } from '../../lib/clock.js'
import { newId } from '../../lib/random.js'
import type { ResourceServer } from '../authorization/resources.js'
import type { RequestContext } from '../request-context.js'
import type { SessionDeps } from './deps.js'
import { issueTokens, type Delivery, type IssuedTokens } from './issue-tokens.js'
import { isSessionLive } from './liveness.js'
import { generateRefreshToken } from './refresh-token.js'

export interface StartSessionInput {
  userId: string
  clientId: string
  delivery: Delivery
  scope?: string
  /** The resource the access token is for (already resolved); none means this service's AUDIENCE. */
  resource?: ResourceServer
  context: RequestContext
  /** The audit event that records the start (written in the same transaction as the session). */
  audit: AuditEventType
}

/**
 * Start a session (a token family) for an authenticated user: its first refresh token, an access
 * token carrying the roles the user holds now, and, when MAX_SESSIONS_PER_USER is set, the
 * revocation of the oldest sessions beyond it.
 */
export async function startSession (deps: SessionDeps, input: StartSessionInput): Promise<IssuedTokens> {
  const now = deps.clock.now()
  const sessionId = newId(now.getTime())
  const refresh = generateRefreshToken()
  const sessionEnd = addSeconds(now, deps.sessionTtlSeconds)
  const evicted: string[] = []
  const roles = await deps.db.transaction().execute(async (trx) => {
    // Serialise logins of one user so that the session cap is exact under concurrency.
    await trx.selectFrom('users').select('id').where('id', '=', input.userId).forUpdate().execute()
    await insertSession(trx, {
      id: sessionId,
      userId: input.userId,
      clientId: input.clientId,
      delivery: input.delivery,
      scope: input.scope ?? null,
      userAgent: input.context.userAgent,
      ip: input.context.ip,
      now,
      expiresAt: sessionEnd
    })
    await insertRefreshToken(trx, { id: newId(now.getTime()), sessionId, tokenHash: refresh.tokenHash, now })
    if (deps.maxSessionsPerUser > 0) {
      // The new session always counts as the newest (clocks of instances may differ), and sessions
      // already ended by idleness do not count at all.
      const others = (await findLiveSessionsOfUser(trx, input.userId, now))
        .filter((session) => session.id !== sessionId && isSessionLive(session, now, deps.policy.idleSeconds))
      const excess = others.slice(deps.maxSessionsPerUser - 1).map((session) => session.id)
      const revoked = await revokeSessions(trx, excess, now, 'session_limit')
      evicted.push(...revoked)
      for (const id of revoked) {
        const event = { type: 'session_revoked', userId: input.userId, sessionId: id, ...input.context } as const
        await insertAuditEvent(trx, { ...event, detail: { reason: 'session_limit' } }, now)
      }
    }
    const started = { type: input.audit, userId: input.userId, sessionId, clientId: input.clientId, ...input.context }
    await insertAuditEvent(trx, started, now)
    return await findRolesOfUser(trx, input.userId)
  })
  if (evicted.length > 0) deps.sessionsRevoked(evicted)
  const session = {
    id: sessionId,
    userId: input.userId,
    clientId: input.clientId,
    delivery: input.delivery,
    scope: input.scope,
    roles,
    expiresAt: sessionEnd
  }
  return await issueTokens(deps, session, refresh.token, input.resource, now)
}
