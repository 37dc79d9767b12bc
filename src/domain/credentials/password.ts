import argon2 from 'argon2'
import { serviceUnavailable, validationFailed } from '../../errors.js'
import { ConcurrencyLimiter } from '../../lib/concurrency-limiter.js'

export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 1024

/** OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1. Change here, and logins rehash. */
export const ARGON2_PARAMETERS = Object.freeze({
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1
})

/**
 * NFKC-normalise a password and check its length in characters (code points), so that the same
 * password typed on two keyboards hashes the same.
 */
export function normalizePassword (raw: string, field = 'password'): string {
  const password = raw.normalize('NFKC')
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw validationFailed(`${field} must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`)
  }
  return password
}

/** Hashing and verification, bounded: see createPasswordHasher. */
export interface PasswordHasher {
  hash: (password: string) => Promise<string>
  /** Verify against a stored hash, or against a dummy hash when there is none (same cost either way). */
  verify: (storedHash: string | undefined, password: string) => Promise<boolean>
  needsRehash: (storedHash: string) => boolean
}

/**
 * argon2 runs on libuv's small shared thread pool (4 threads by default), which the database
 * driver's DNS lookups and file I/O need too. A login flood must not starve them: at most
 * `maxConcurrent` hashes run at once and `maxQueued` wait; beyond that the caller gets 503
 * service_unavailable with Retry-After at once, while refreshes and the JWKS keep answering.
 */
export function createPasswordHasher (options: { maxConcurrent: number, maxQueued: number }): PasswordHasher {
  const limiter = new ConcurrencyLimiter({
    ...options,
    onOverload: () => serviceUnavailable('Too many password checks in progress; try again shortly')
  })
  const hash = async (password: string): Promise<string> =>
    await limiter.run(async () => await argon2.hash(password, ARGON2_PARAMETERS))
  // Verified against when the account does not exist, so that an unknown email costs the same
  // argon2 work as a wrong password (no user enumeration by timing). Made at start, so that not
  // even the first unknown email pays for it.
  const dummyHash = argon2.hash('dummy password for unknown accounts', ARGON2_PARAMETERS)
  return {
    hash,
    async verify (storedHash, password) {
      const target = storedHash ?? await dummyHash
      const ok = await limiter.run(async () => {
        try {
          return await argon2.verify(target, password)
        } catch {
          return false
        }
      })
      return ok && storedHash !== undefined
    },
    needsRehash: (storedHash) => argon2.needsRehash(storedHash, ARGON2_PARAMETERS)
  }
}
