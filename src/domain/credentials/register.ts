import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { isUniqueViolation } from '../../db/errors.js'
import { insertUser } from '../../db/repositories/users.js'
import { emailTaken } from '../../errors.js'
import { newId } from '../../lib/random.js'
import { toPublicUser, type PublicUser } from '../users.js'
import { normalizeEmail } from './email.js'
import { normalizePassword, type PasswordHasher } from './password.js'
import type { PasswordPolicy } from './password-policy.js'

export interface RegisterDeps {
  db: Kysely<Database>
  passwordPolicy: PasswordPolicy
  hasher: PasswordHasher
}

/**
 * Create an account. The email is normalised, the password checked and hashed with argon2id.
 * A taken email is detected by the unique constraint, so two racing registrations cannot both win.
 */
export async function registerUser (
  deps: RegisterDeps, input: { email: string, password: string }
): Promise<PublicUser> {
  const email = normalizeEmail(input.email)
  const password = normalizePassword(input.password)
  deps.passwordPolicy.assertAcceptable(password, email)
  const passwordHash = await deps.hasher.hash(password)
  try {
    return toPublicUser(await insertUser(deps.db, { id: newId(), email, passwordHash }))
  } catch (error) {
    if (isUniqueViolation(error)) throw emailTaken()
    throw error
  }
}
