import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { insertAuditEvent } from '../../db/repositories/audit-events.js'
import { findUserByEmail, updatePasswordHash } from '../../db/repositories/users.js'
import { invalidCredentials } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import type { RequestContext } from '../sessions/deps.js'
import { normalizeEmail } from './email.js'
import { checkThrottled, throttleKey, type LoginThrottlePolicy } from './login-throttle.js'
import type { PasswordHasher } from './password.js'

export interface LoginDeps {
  db: Kysely<Database>
  clock: Clock
  throttle: LoginThrottlePolicy
  hasher: PasswordHasher
}

/**
 * Check an email and password. Unknown email and wrong password take the same path, the same
 * argon2 work (a dummy hash stands in for the missing one) and end in the same error. A hash
 * made with older parameters is replaced on success.
 */
export async function authenticate (deps: LoginDeps, input: { email: string, password: string }, context: RequestContext): Promise<{ userId: string }> {
  const email = normalizeEmail(input.email)
  const password = input.password.normalize('NFKC')
  const user = await findUserByEmail(deps.db, email)
  const ok = await checkThrottled(deps, throttleKey(email, context.ip),
    async () => await deps.hasher.verify(user?.password_hash, password) && user !== undefined)
  if (user === undefined || !ok) {
    await insertAuditEvent(deps.db, { type: 'login_failed', userId: user?.id ?? null, ip: context.ip, userAgent: context.userAgent }, deps.clock.now())
    throw invalidCredentials()
  }
  if (deps.hasher.needsRehash(user.password_hash)) await updatePasswordHash(deps.db, user.id, await deps.hasher.hash(password))
  return { userId: user.id }
}
