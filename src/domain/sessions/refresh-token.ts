import { createHash } from 'node:crypto'
import { randomToken } from '../../lib/random.js'

// 32 bytes = 256 bits from the CSPRNG, base64url: 43 characters.
const REFRESH_TOKEN_BYTES = 32
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/

/** A new opaque refresh token and the SHA-256 under which alone it is stored. */
export function generateRefreshToken (): { token: string, tokenHash: string } {
  const token = randomToken(REFRESH_TOKEN_BYTES)
  return { token, tokenHash: hashRefreshToken(token) }
}

/**
 * SHA-256 is enough here (no salt, no argon2): the token has 256 bits of entropy, so the hash
 * cannot be brute-forced, and lookups by hash stay one index probe. Comparing hashes in SQL
 * also means no token is ever compared with `===` in memory (no timing oracle).
 */
export function hashRefreshToken (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}

/** Cheap shape check before touching the database. */
export const looksLikeRefreshToken = (value: string): boolean => REFRESH_TOKEN_SHAPE.test(value)
