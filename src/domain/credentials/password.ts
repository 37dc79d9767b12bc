import argon2 from 'argon2'
import { validationFailed } from '../../errors.js'

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

export async function hashPassword (password: string): Promise<string> {
  return await argon2.hash(password, ARGON2_PARAMETERS)
}

// Verified against when the account does not exist, so that an unknown email costs the same
// argon2 work as a wrong password (no user enumeration by timing).
let dummyHash: Promise<string> | undefined
const getDummyHash = async (): Promise<string> => await (dummyHash ??= hashPassword('dummy password for unknown accounts'))

/** Verify a password against a stored hash, or against the dummy hash when there is none. */
export async function verifyPassword (storedHash: string | undefined, password: string): Promise<boolean> {
  const hash = storedHash ?? await getDummyHash()
  try {
    const ok = await argon2.verify(hash, password)
    return ok && storedHash !== undefined
  } catch {
    return false
  }
}

/** True when a stored hash was made with other parameters than the current ones. */
export function passwordNeedsRehash (storedHash: string): boolean {
  return argon2.needsRehash(storedHash, ARGON2_PARAMETERS)
}
