import { insertAuditEvent } from '../../db/repositories/audit-events.js'
import { rotateByHash, type RotationRow } from '../../db/repositories/rotate-statement.js'
import { revokeSessions } from '../../db/repositories/sessions.js'
import { parseRoleList } from '../../db/repositories/user-roles.js'
import { databaseTime } from '../../lib/clock.js'
import { newId } from '../../lib/random.js'
import type { ResourceServer } from '../authorization/resources.js'
import type { RequestContext } from '../request-context.js'
import type { SessionDeps } from './deps.js'
import { issueTokens, type IssuedTokens } from './issue-tokens.js'
import { generateRefreshToken, hashRefreshToken, looksLikeRefreshToken } from './refresh-token.js'

export type RotationOutcome =
  | { kind: 'rotated', tokens: IssuedTokens, grace: boolean }
  | { kind: 'invalid' }
  | { kind: 'reused', sessionId: string, userId: string }
  | { kind: 'expired' }

/** Who may spend the token: set by the OAuth endpoint, absent for /auth/refresh. */
export interface RotationBinding {
  /** The authenticated client; a session started by another client is refused, unspent. */
  clientId?: string
  /** Refuse (unspent) a session whose refresh token travels only in a cookie. */
  bodyDeliveryOnly?: boolean
}

/**
 * Exchange a refresh token for a new pair, in one statement under the session's row lock
 * (see rotateByHash), judged on the database's clock (or a test clock):
 * - the session's unspent token is spent and replaced (rotation);
 * - the token just spent, within the grace window, gets the session's current token back;
 * - any other spent token revokes the whole session, and that revocation commits even though
 *   the caller gets an error (the outcome is returned, not thrown);
 * - revoked, expired or idle sessions, unknown tokens, and tokens presented by a caller the
 *   binding refuses get nothing, and nothing is spent.
 * Concurrent calls with one token queue on the lock: one rotates, the others see a token spent a
 * moment ago and receive the same successor, so a session never holds two live tokens.
 * The access token is for `resource` when one is given (already resolved: an unknown resource
 * must be refused before this call spends anything), and carries the roles the user holds now.
 */
export async function rotateRefreshToken (
  deps: SessionDeps, presented: string, context: RequestContext, binding: RotationBinding = {},
  resource?: ResourceServer
): Promise<RotationOutcome> {
  if (!looksLikeRefreshToken(presented)) return { kind: 'invalid' }
  const next = generateRefreshToken()
  const nextId = newId()
  const row = await rotateByHash(deps.db, {
    tokenHash: hashRefreshToken(presented),
    // Sealed for the grace window, bound to the successor's id (the spent row's replaced_by).
    next: {
      id: nextId, tokenHash: next.tokenHash, ciphertext: deps.successorBox.seal(next.token, successorAad(nextId))
    },
    graceSeconds: deps.policy.graceSeconds,
    idleSeconds: deps.policy.idleSeconds,
    clientId: binding.clientId ?? null,
    bodyDeliveryOnly: binding.bodyDeliveryOnly === true,
    auditId: newId(),
    at: databaseTime(deps.clock),
    ip: context.ip,
    userAgent: context.userAgent
  })
  switch (row?.verdict) {
    case undefined: case 'revoked': case 'mismatch':
      return { kind: 'invalid' }
    case 'expired':
      return { kind: 'expired' }
    case 'reused':
      await revokeFamily(deps, row, context)
      return { kind: 'reused', sessionId: row.session_id, userId: row.user_id }
    case 'grace': {
      const current = openSuccessor(deps, row.successor_ciphertext, row.successor_id)
      // A ciphertext this instance cannot open (KEY_ENCRYPTION_SECRET changed during a rolling
      // deploy, a corrupted row, a ciphertext copied from another row) is not evidence of theft, so
      // the family is spared; the caller simply gets nothing, while the tab that won the race keeps
      // the live token.
      if (current === undefined) return { kind: 'invalid' }
      return { kind: 'rotated', tokens: await issueFor(deps, row, current, resource), grace: true }
    }
    case 'rotate':
      return { kind: 'rotated', tokens: await issueFor(deps, row, next.token, resource), grace: false }
  }
}

/** Reuse is rare: it may take its own transaction, through the one function that revokes sessions. */
async function revokeFamily (deps: SessionDeps, row: RotationRow, context: RequestContext): Promise<void> {
  const revoked = await deps.db.transaction().execute(async (trx) => {
    const ids = await revokeSessions(trx, [row.session_id], row.now, 'reuse_detected')
    const event = {
      type: 'refresh_reuse_detected', userId: row.user_id, sessionId: row.session_id, ...context
    } as const
    await insertAuditEvent(trx, event, row.now)
    return ids
  })
  deps.sessionsRevoked(revoked)
}

/** The associated data a successor's ciphertext is bound to: that successor's token id. */
const successorAad = (successorId: string): string => `refresh-token:${successorId}`

function openSuccessor (deps: SessionDeps, sealed: string | null, successorId: string | null): string | undefined {
  if (sealed === null || successorId === null) return undefined
  try {
    return deps.successorBox.open(sealed, successorAad(successorId))
  } catch {
    return undefined
  }
}

async function issueFor (
  deps: SessionDeps, row: RotationRow, refreshToken: string, resource: ResourceServer | undefined
): Promise<IssuedTokens> {
  const session = {
    id: row.session_id,
    userId: row.user_id,
    clientId: row.client_id,
    delivery: row.delivery,
    scope: row.scope ?? undefined,
    roles: parseRoleList(row.roles),
    expiresAt: row.expires_at
  }
  return await issueTokens(deps, session, refreshToken, resource, row.now)
}
