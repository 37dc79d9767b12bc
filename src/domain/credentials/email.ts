import { validationFailed } from '../../errors.js'

export const MAX_EMAIL_LENGTH = 254

// Deliberately permissive (RFC 5321 allows far more than any regex should judge): one @, a
// non-empty local part without spaces, and a dotted domain. Deliverability is proven by mail,
// not by syntax.
// Control characters and unpaired surrogates are refused too: no database can store them.
const EMAIL_SHAPE = /^[^\s@\p{Cc}\p{Cs}]+@[^\s@.\p{Cc}\p{Cs}]+(?:\.[^\s@.\p{Cc}\p{Cs}]+)+$/u

/** Trim and lowercase, the documented normalisation, then check the shape and the length. */
export function normalizeEmail (raw: string): string {
  const email = raw.trim().toLowerCase()
  if (email.length > MAX_EMAIL_LENGTH) throw validationFailed(`email must be at most ${MAX_EMAIL_LENGTH} characters`)
  if (!EMAIL_SHAPE.test(email)) throw validationFailed('email must be a valid email address')
  return email
}
