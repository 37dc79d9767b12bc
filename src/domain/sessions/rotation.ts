import { insertAuditEvent } from '../../db/repositories/audit-events.js'
import { findRefreshTokenByHash, findRefreshTokenById, insertRefreshToken, markRefreshTokenSpent } from '../../db/repositories/refresh-tokens.js'
import { findSessionForUpdate, revokeSessions, touchSession } from '../../db/repositories/sessions.js'
import type { SessionRow } from '../../db/database.js'
import { newId } from '../../lib/random.js'
import { signAccessToken } from '../tokens/access-token.js'
import type { IssuedTokens, RequestContext, SessionDeps } from './deps.js'
import { judgeRefresh } from './policy.js'
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from './refresh-token.js'

export type RotationOutcome =
  | { kind: 'rotated', tokens: IssuedTokens, grace: boolean }
  | { kind: 'invalid' }
  | { kind: 'reused', sessionId: string, userId: string }
  | { kind: 'expired' }

/**
 * Exchange a refresh token for a new pair, in one transaction under the session's row lock:
 * - the session's unspent token is spent and replaced (rotation);
 * - the token just spent, within the grace window, gets the session's current token back;
 * - any other spent token revokes the whole session, and that revocation commits even though
 *   the caller gets an error (the outcome is returned, not thrown);
 * - revoked, expired or idle sessions, and unknown tokens, get nothing.
 * Concurrent calls with one token queue on the lock: one rotates, the others see a token spent a
 * moment ago and receive the same successor, so a session never holds two live tokens.
 */
export async function rotateRefreshToken (deps: SessionDeps, presented: string, context: RequestContext): Promise<RotationOutcome> {
  if (!looksLikeRefreshToken(presented)) return { kind: 'invalid' }
  const tokenHash = hashRefreshToken(presented)
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const found = await findRefreshTokenByHash(trx, tokenHash)
    if (found === undefined) return { kind: 'invalid' } as const
    const session = await findSessionForUpdate(trx, found.session_id)
    // Re-read under the lock: another request may have spent it while we waited.
    const token = await findRefreshTokenById(trx, found.id)
    if (session === undefined || token === undefined) return { kind: 'invalid' } as const

    const successor = token.replaced_by === null ? undefined : await findRefreshTokenById(trx, token.replaced_by)
    const now = deps.clock.now()
    const verdict = judgeRefresh(
      { spentAt: token.spent_at, successorIsCurrent: successor !== undefined && successor.spent_at === null },
      { revokedAt: session.revoked_at, expiresAt: session.expires_at, lastUsedAt: session.last_used_at },
      now,
      deps.policy
    )
    switch (verdict.kind) {
      case 'revoked':
        return { kind: 'invalid' } as const
      case 'expired':
        return { kind: 'expired' } as const
      case 'reused':
        await revokeSessions(trx, [session.id], now, 'reuse_detected')
        await insertAuditEvent(trx, { type: 'refresh_reuse_detected', userId: session.user_id, sessionId: session.id, ...context }, now)
        return { kind: 'reused', sessionId: session.id, userId: session.user_id } as const
      case 'grace':
        await touchSession(trx, session.id, now)
        return { kind: 'issue', session, refreshToken: deps.successorBox.open(token.successor_ciphertext ?? ''), now, grace: true } as const
      case 'rotate': {
        const next = generateRefreshToken()
        const nextId = newId(now.getTime())
        await markRefreshTokenSpent(trx, token.id, { now, replacedBy: nextId, successorCiphertext: deps.successorBox.seal(next.token) })
        await insertRefreshToken(trx, { id: nextId, sessionId: session.id, tokenHash: next.tokenHash, now })
        await touchSession(trx, session.id, now)
        await insertAuditEvent(trx, { type: 'refresh_succeeded', userId: session.user_id, sessionId: session.id, ...context }, now)
        return { kind: 'issue', session, refreshToken: next.token, now, grace: false } as const
      }
    }
  })
  if (outcome.kind !== 'issue') return outcome
  return { kind: 'rotated', tokens: await issueFor(deps, outcome.session, outcome.refreshToken, outcome.now), grace: outcome.grace }
}

async function issueFor (deps: SessionDeps, session: SessionRow, refreshToken: string, now: Date): Promise<IssuedTokens> {
  const access = await signAccessToken(deps.accessTokens, { sub: session.user_id, sid: session.id, clientId: session.client_id, scope: session.scope ?? undefined })
  return {
    accessToken: access.token,
    expiresIn: access.expiresIn,
    refreshToken,
    refreshExpiresIn: Math.max(0, Math.floor((session.expires_at.getTime() - now.getTime()) / 1000)),
    sessionId: session.id,
    userId: session.user_id,
    delivery: session.delivery
  }
}
