import { insertAuditEvent } from '../../db/repositories/audit-events.js'
import { revokeSessionsOfUser } from '../../db/repositories/sessions.js'
import { findUserById, updatePasswordHash } from '../../db/repositories/users.js'
import { invalidCredentials } from '../../errors.js'
import type { RequestContext } from '../request-context.js'
import type { RevocationDeps } from '../sessions/revocation.js'
import { checkThrottled, throttleKey, type LoginThrottlePolicy } from './login-throttle.js'
import type { PasswordPolicy } from './password-policy.js'
import { normalizePassword, type PasswordHasher } from './password.js'

export interface ChangePasswordInput {
  userId: string
  /** The caller's session survives; every other one is revoked. */
  currentSessionId: string | undefined
  currentPassword: string
  newPassword: string
}

export interface ChangePasswordDeps extends RevocationDeps {
  passwordPolicy: PasswordPolicy
  hasher: PasswordHasher
  throttle: LoginThrottlePolicy
}

/**
 * Change a password after re-authentication with the current one, then revoke every other
 * session: whoever else held one (perhaps the reason for the change) is out. Wrong current
 * passwords count against the account's login throttle, so a stolen access token is no faster
 * an oracle for the password than the login form.
 */
export async function changePassword (
  deps: ChangePasswordDeps, input: ChangePasswordInput, context: RequestContext
): Promise<void> {
  const user = await findUserById(deps.db, input.userId)
  if (user === undefined) throw invalidCredentials()
  const ok = await checkThrottled(deps, throttleKey(user.email, context.ip),
    async () => await deps.hasher.verify(user.password_hash, input.currentPassword.normalize('NFKC')))
  if (!ok) throw invalidCredentials()
  const newPassword = normalizePassword(input.newPassword, 'newPassword')
  deps.passwordPolicy.assertAcceptable(newPassword, user.email)
  const passwordHash = await deps.hasher.hash(newPassword)
  const now = deps.clock.now()
  await deps.db.transaction().execute(async (trx) => {
    await updatePasswordHash(trx, user.id, passwordHash, now)
    const revoked = await revokeSessionsOfUser(trx, user.id, now, 'password_changed', input.currentSessionId)
    const sessionId = input.currentSessionId ?? null
    const event = { type: 'password_changed', userId: user.id, sessionId, ...context } as const
    await insertAuditEvent(trx, { ...event, detail: { sessionsRevoked: revoked.length } }, now)
  })
}
