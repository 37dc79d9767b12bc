import t from 'tap'
import {
  judgeRefresh, type PresentedToken, type RefreshPolicy, type RefreshVerdict, type SessionState
} from '../../../src/domain/sessions/policy.js'

const NOW = new Date('2026-06-01T12:00:00.000Z')
const SECOND = 1000
const HOUR = 3600 * SECOND
const DAY = 24 * HOUR
const at = (offsetMs: number): Date => new Date(NOW.getTime() + offsetMs)

const POLICY: RefreshPolicy = { graceSeconds: 10, idleSeconds: 86_400 }

// A live session: started a day ago, last refreshed an hour ago, ends in 13 days.
const LIVE: SessionState = { revokedAt: null, expiresAt: at(13 * DAY), lastUsedAt: at(-HOUR) }
const UNSPENT: PresentedToken = { spentAt: null, successorIsCurrent: false }
const spent = (agoMs: number, successorIsCurrent = true): PresentedToken =>
  ({ spentAt: at(-agoMs), successorIsCurrent })

interface Row {
  name: string
  token: PresentedToken
  session?: Partial<SessionState>
  policy?: Partial<RefreshPolicy>
  expected: RefreshVerdict
}

const ROTATE = { kind: 'rotate' } as const
const GRACE = { kind: 'grace' } as const
const REUSED = { kind: 'reused' } as const
const REVOKED = { kind: 'revoked' } as const
const ABSOLUTE = { kind: 'expired', reason: 'absolute' } as const
const IDLE = { kind: 'expired', reason: 'idle' } as const

const table: Row[] = [
  // The normal case.
  { name: 'the unspent token of a live session rotates', token: UNSPENT, expected: ROTATE },
  {
    name: 'an unspent token of a session used a moment ago rotates',
    token: UNSPENT,
    session: { lastUsedAt: NOW },
    expected: ROTATE
  },

  // Grace: the token just spent, re-presented soon, while its successor is still current.
  { name: 'spent 1 s ago with a current successor is grace', token: spent(SECOND), expected: GRACE },
  { name: 'spent this very millisecond with a current successor is grace', token: spent(0), expected: GRACE },
  {
    name: 'spent exactly grace seconds ago is still grace (inclusive bound)',
    token: spent(10 * SECOND),
    expected: GRACE
  },
  { name: 'spent grace seconds + 1 ms ago is reuse', token: spent(10 * SECOND + 1), expected: REUSED },
  {
    name: 'spent "in the future" by a peer instance whose clock runs 2 s ahead is grace',
    token: spent(-2 * SECOND),
    expected: GRACE
  },
  {
    name: 'a longer grace window is honoured',
    token: spent(45 * SECOND),
    policy: { graceSeconds: 60 },
    expected: GRACE
  },

  // Reuse: any other spent token.
  {
    name: 'spent within grace but its successor is already spent is reuse',
    token: spent(SECOND, false),
    expected: REUSED
  },
  {
    name: 'spent this very millisecond but its successor is already spent is reuse',
    token: spent(0, false),
    expected: REUSED
  },
  { name: 'spent an hour ago is reuse', token: spent(HOUR), expected: REUSED },
  { name: 'spent after grace with its successor spent too is reuse', token: spent(HOUR, false), expected: REUSED },
  {
    name: 'with grace 0, a token spent 1 ms ago is reuse',
    token: spent(1),
    policy: { graceSeconds: 0 },
    expected: REUSED
  },
  // REFRESH_REUSE_GRACE_SECONDS=0 switches the grace window off: a replay is always reuse, however fast.
  {
    name: 'with grace 0, a token spent this very millisecond is reuse (0 disables grace)',
    token: spent(0),
    policy: { graceSeconds: 0 },
    expected: REUSED
  },

  // Revoked sessions accept nothing.
  {
    name: 'the unspent token of a revoked session is revoked',
    token: UNSPENT,
    session: { revokedAt: at(-SECOND) },
    expected: REVOKED
  },
  {
    name: 'a revoked session is revoked even within grace',
    token: spent(SECOND),
    session: { revokedAt: at(-SECOND) },
    expected: REVOKED
  },
  {
    name: 'a revoked session is revoked rather than reuse for an old spent token',
    token: spent(HOUR, false),
    session: { revokedAt: at(-HOUR) },
    expected: REVOKED
  },
  {
    name: 'revocation beats absolute expiry',
    token: UNSPENT,
    session: { revokedAt: at(-DAY), expiresAt: at(-HOUR) },
    expected: REVOKED
  },
  {
    name: 'revocation beats idle expiry',
    token: UNSPENT,
    session: { revokedAt: at(-DAY), lastUsedAt: at(-2 * DAY) },
    expected: REVOKED
  },

  // Absolute lifetime.
  {
    name: 'a session past its absolute expiry is expired (absolute)',
    token: UNSPENT,
    session: { expiresAt: at(-HOUR) },
    expected: ABSOLUTE
  },
  {
    name: 'a session at exactly its absolute expiry is expired (absolute)',
    token: UNSPENT,
    session: { expiresAt: NOW },
    expected: ABSOLUTE
  },
  {
    name: 'a session 1 ms before its absolute expiry rotates',
    token: UNSPENT,
    session: { expiresAt: at(1) },
    expected: ROTATE
  },
  { name: 'absolute expiry beats grace', token: spent(SECOND), session: { expiresAt: at(-1) }, expected: ABSOLUTE },
  {
    name: 'absolute expiry is reported rather than reuse (nothing left to revoke)',
    token: spent(HOUR, false),
    session: { expiresAt: at(-1) },
    expected: ABSOLUTE
  },
  {
    name: 'absolute expiry beats idle expiry',
    token: UNSPENT,
    session: { expiresAt: at(-1), lastUsedAt: at(-2 * DAY) },
    expected: ABSOLUTE
  },

  // Idle timeout.
  {
    name: 'a session not refreshed for longer than the idle timeout is expired (idle)',
    token: UNSPENT,
    session: { lastUsedAt: at(-2 * DAY) },
    expected: IDLE
  },
  {
    name: 'a session last used exactly the idle timeout ago is expired (idle)',
    token: UNSPENT,
    session: { lastUsedAt: at(-DAY) },
    expected: IDLE
  },
  {
    name: 'a session last used 1 ms less than the idle timeout ago rotates',
    token: UNSPENT,
    session: { lastUsedAt: at(-DAY + 1) },
    expected: ROTATE
  },
  { name: 'idle expiry beats grace', token: spent(SECOND), session: { lastUsedAt: at(-DAY - 1) }, expected: IDLE },
  { name: 'idle expiry beats reuse', token: spent(HOUR, false), session: { lastUsedAt: at(-DAY - 1) }, expected: IDLE },
  {
    name: 'a short idle timeout is honoured',
    token: UNSPENT,
    session: { lastUsedAt: at(-61 * SECOND) },
    policy: { idleSeconds: 60 },
    expected: IDLE
  }
]

t.test('judgeRefresh decides every refresh by the table of rules', async (t) => {
  for (const row of table) {
    t.test(row.name, async (t) => {
      const verdict = judgeRefresh(row.token, { ...LIVE, ...row.session }, NOW, { ...POLICY, ...row.policy })
      t.same(verdict, row.expected)
    })
  }
})

t.test('judgeRefresh is pure: it neither mutates its inputs nor reads the system clock', async (t) => {
  const token = spent(SECOND)
  const session = { ...LIVE }
  const before = JSON.stringify({ token, session })
  const first = judgeRefresh(token, session, NOW, POLICY)
  const second = judgeRefresh(token, session, new Date(NOW), POLICY)
  t.same(first, second)
  t.equal(JSON.stringify({ token, session }), before)
  // The clock is a parameter: ten years on, the same inputs answer as of that date.
  t.same(judgeRefresh(UNSPENT, LIVE, new Date(NOW.getTime() + 3650 * DAY), POLICY), ABSOLUTE)
})
