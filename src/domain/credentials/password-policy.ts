import { dictionary } from '@zxcvbn-ts/language-common'
import { weakPassword } from '../../errors.js'

/** How many of the most common passwords are refused; ASVS 5.0 6.2.4 asks for at least 3,000. */
export const COMMON_PASSWORDS_REFUSED = 10_000

export interface PasswordPolicy {
  /** Throws `weak_password` (400) for a password an attacker would try first. */
  assertAcceptable: (password: string, email: string) => void
}

/**
 * Refuse passwords from the breach-frequency list maintained by zxcvbn-ts (ordered by how often
 * each was seen), compared case-insensitively, and the account's own email.
 */
export function createPasswordPolicy (refused = COMMON_PASSWORDS_REFUSED): PasswordPolicy {
  const common = new Set(dictionary['passwords-common'].slice(0, refused))
  return {
    assertAcceptable (password, email) {
      const folded = password.toLowerCase()
      if (common.has(folded) || folded === email) {
        throw weakPassword()
      }
    }
  }
}
