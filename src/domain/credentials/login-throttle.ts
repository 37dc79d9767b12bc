import { isIPv6 } from 'node:net'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { clearLoginAttempts, countLoginAttempt, type ThrottleKey } from '../../db/repositories/login-throttles.js'
import { AppError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'

export interface LoginThrottlePolicy {
  /** Attempts allowed per account and source in a window before back-off starts (LOGIN_FAILURES_BEFORE_BACKOFF). */
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
  return [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right].map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''))
}

/**
 * Per account AND source, exponential back-off: after `freeFailures` attempts from one address,
 * each further one waits 1, 2, 4 … seconds, capped at `maxBackoffSeconds`. The attempt is counted
 * before the password is checked, atomically, so a burst of parallel guesses is cut at the limit
 * instead of all reaching a verdict. Keyed by source, an attacker's failures never keep the owner,
 * logging in from another address, out; the attacker stays throttled. The back-off always ends by
 * itself, and unknown emails are throttled exactly like real ones, so it reveals no accounts.
 */
export async function admitLoginAttempt (deps: LoginThrottleDeps, key: ThrottleKey): Promise<void> {
  const now = deps.clock.now()
  const verdict = await countLoginAttempt(deps.db, key, now, {
    freeAttempts: deps.throttle.freeFailures,
    maxBackoffSeconds: deps.throttle.maxBackoffSeconds
  })
  if (verdict.admitted) return
  const blockedUntil = verdict.blockedUntil ?? now
  const retryAfter = Math.max(1, Math.ceil((blockedUntil.getTime() - now.getTime()) / 1000))
  throw new AppError('rate_limited', 'Too many failed attempts for this account; try again later', {
    headers: { 'retry-after': String(retryAfter) }
  })
}

/** The right password from a source clears that source's count (and only that one). */
export async function clearLoginThrottle (deps: LoginThrottleDeps, key: ThrottleKey): Promise<void> {
  await clearLoginAttempts(deps.db, key)
}

export function throttleKey (email: string, ip: string | null): ThrottleKey {
  return { email, source: throttleSource(ip) }
}
