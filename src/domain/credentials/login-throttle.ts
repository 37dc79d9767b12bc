import { isIPv6 } from 'node:net'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  admitLoginAttempt as admitAttempt, settleLoginAttempt as settleAttempt, type AttemptResult, type ThrottleKey
} from '../../db/repositories/login-throttles.js'
import { rateLimited, type AppError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'

export interface LoginThrottlePolicy {
  /** Failures allowed per account and source in a window before back-off starts (LOGIN_FAILURES_BEFORE_BACKOFF). */
  freeFailures: number
  /** The longest back-off (LOGIN_BACKOFF_MAX_SECONDS); the window is as long. */
  maxBackoffSeconds: number
}

export interface LoginThrottleDeps {
  db: Kysely<Database>
  clock: Clock
  throttle: LoginThrottlePolicy
}

/**
 * The address a throttle counts by. IPv6 clients usually hold a whole /64, so counting single
 * addresses there would give an attacker 2^64 fresh counters; the /64 is the unit instead.
 */
export function throttleSource (ip: string | null): string {
  if (ip === null || ip === '') return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return mapped[1]!
  if (!isIPv6(ip)) return ip
  return expandIPv6(ip).slice(0, 4).join(':') + '::/64'
}

function expandIPv6 (ip: string): string[] {
  const [head = '', tail = ''] = ip.split('%')[0]!.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const missing = 8 - left.length - right.length
  const groups = [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right]
  return groups.map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''))
}

// How long an attempt waits for slots held by attempts still being checked, and how often it asks.
const BUSY_WAIT_MS = 10_000
const BUSY_POLL_MS = 25

/**
 * Per account AND source, exponential back-off: after `freeFailures` failures from one address,
 * each further attempt waits 1, 2, 4 … seconds, capped at `maxBackoffSeconds`. The attempt is
 * admitted before the password is checked, atomically, with attempts still in flight counted, so a
 * burst of parallel guesses is cut at the limit instead of all reaching a verdict. Keyed by source,
 * an attacker's failures never keep the owner, logging in from another address, out; the attacker
 * stays throttled. The back-off always ends by itself, and unknown emails are throttled exactly
 * like real ones, so it reveals no accounts. Every admitted attempt must be settled.
 */
export async function admitLoginAttempt (deps: LoginThrottleDeps, key: ThrottleKey): Promise<void> {
  const policy = { freeFailures: deps.throttle.freeFailures, maxBackoffSeconds: deps.throttle.maxBackoffSeconds }
  const giveUpAt = Date.now() + BUSY_WAIT_MS
  for (;;) {
    const now = deps.clock.now()
    const verdict = await admitAttempt(deps.db, key, now, policy)
    if (verdict.kind === 'admitted') return
    if (verdict.kind === 'blocked' || Date.now() >= giveUpAt) {
      throw throttled(verdict.kind === 'blocked' ? verdict.blockedUntil : null, now)
    }
    await sleep(BUSY_POLL_MS)
  }
}

/** Record how an admitted attempt ended: failures count, a success clears the count of its source. */
export async function settleLoginAttempt (
  deps: LoginThrottleDeps, key: ThrottleKey, result: AttemptResult
): Promise<void> {
  await settleAttempt(deps.db, key, result, deps.clock.now(), deps.throttle)
}

/**
 * Check a password under the throttle: admitted first, then settled by the check's outcome (a
 * check that throws, such as a saturated hasher, frees its slot without counting).
 */
export async function checkThrottled (
  deps: LoginThrottleDeps, key: ThrottleKey, check: () => Promise<boolean>
): Promise<boolean> {
  await admitLoginAttempt(deps, key)
  let ok: boolean
  try {
    ok = await check()
  } catch (error) {
    await settleLoginAttempt(deps, key, 'abandoned')
    throw error
  }
  await settleLoginAttempt(deps, key, ok ? 'success' : 'failure')
  return ok
}

function throttled (blockedUntil: Date | null, now: Date): AppError {
  const retryAfter = Math.max(1, Math.ceil(((blockedUntil ?? now).getTime() - now.getTime()) / 1000))
  return rateLimited('Too many failed attempts for this account; try again later', retryAfter)
}

export function throttleKey (email: string, ip: string | null): ThrottleKey {
  return { email, source: throttleSource(ip) }
}
