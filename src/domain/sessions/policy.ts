import { sessionEnd, type SessionTimes } from './liveness.js'

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

/** The session's times, as the policy table reads them. */
export type SessionState = SessionTimes

export type RefreshVerdict =
  | { kind: 'rotate' }
  | { kind: 'grace' }
  | { kind: 'reused' }
  | { kind: 'revoked' }
  | { kind: 'expired', reason: 'absolute' | 'idle' }

export function judgeRefresh (
  token: PresentedToken, session: SessionTimes, now: Date, policy: RefreshPolicy
): RefreshVerdict {
  // An ended session accepts nothing: revoked (not even in grace), past its end, or idle.
  const ended = sessionEnd(session, now, policy.idleSeconds)
  if (ended === 'revoked') return { kind: 'revoked' }
  if (ended !== undefined) return { kind: 'expired', reason: ended }
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
