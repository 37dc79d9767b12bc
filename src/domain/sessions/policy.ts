/**
 * The refresh policy as a pure function: given the presented token, its session and the clock,
 * what happens? Every rule is one line with its reason, and the whole table is tested.
 * The rotation statement (src/db/repositories/rotate-statement.ts) applies this same table in SQL,
 * on the database's clock, with "successor is current" read as "its ciphertext is still there";
 * a rule changed here must change there too (the route tests exercise the SQL form).
 */
export interface RefreshPolicy {
  /** REFRESH_REUSE_GRACE_SECONDS */
  graceSeconds: number
  /** SESSION_IDLE_TTL */
  idleSeconds: number
}

export interface PresentedToken {
  spentAt: Date | null
  /** Whether the token that replaced this one is still unspent (the session's current token). */
  successorIsCurrent: boolean
}

export interface SessionState {
  revokedAt: Date | null
  expiresAt: Date
  lastUsedAt: Date
}

export type RefreshVerdict =
  | { kind: 'rotate' }
  | { kind: 'grace' }
  | { kind: 'reused' }
  | { kind: 'revoked' }
  | { kind: 'expired', reason: 'absolute' | 'idle' }

export function judgeRefresh (token: PresentedToken, session: SessionState, now: Date, policy: RefreshPolicy): RefreshVerdict {
  // A revoked session (logout, password change, earlier reuse) accepts nothing, not even in grace.
  if (session.revokedAt !== null) return { kind: 'revoked' }
  // Rotation never extends a session past its absolute lifetime.
  if (now >= session.expiresAt) return { kind: 'expired', reason: 'absolute' }
  // A session nobody refreshed for the idle timeout ends, even if its absolute lifetime remains.
  if (now.getTime() >= session.lastUsedAt.getTime() + policy.idleSeconds * 1000) return { kind: 'expired', reason: 'idle' }
  // The session's one unspent token: the normal case.
  if (token.spentAt === null) return { kind: 'rotate' }
  // The token just spent, again, within the grace window: a lost response or a second tab, not a
  // thief. Answer with the session's current token instead of forking the family.
  // A grace of 0 disables it outright, even for a replay in the same millisecond.
  const withinGrace = policy.graceSeconds > 0 && now.getTime() - token.spentAt.getTime() <= policy.graceSeconds * 1000
  if (withinGrace && token.successorIsCurrent) return { kind: 'grace' }
  // Any other spent token: somebody holds a copy. Kill the family (RFC 9700 §4.14.2).
  return { kind: 'reused' }
}
