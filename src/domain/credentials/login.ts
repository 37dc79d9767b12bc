import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { insertAuditEvent } from '../../db/repositories/audit-events.js'
import { findUserByEmail, updatePasswordHash } from '../../db/repositories/users.js'
import { invalidCredentials } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import type { ResourceServer } from '../authorization/resources.js'
import type { RequestContext } from '../request-context.js'
import type { SessionDeps } from '../sessions/deps.js'
import type { Delivery, IssuedTokens } from '../sessions/issue-tokens.js'
import { startSession } from '../sessions/start-session.js'
import { normalizeEmail } from './email.js'
import { checkThrottled, throttleKey, type LoginThrottlePolicy } from './login-throttle.js'
import type { PasswordHasher } from './password.js'

export interface LoginDeps {
  db: Kysely<Database>
  clock: Clock
  throttle: LoginThrottlePolicy
  hasher: PasswordHasher
}

export interface LoginInput {
  email: string
  password: string
  /** The first-party client the session belongs to. */
  clientId: string
  delivery: Delivery
  /** Already resolved: an unknown resource is refused before the password is checked. */
  resource: ResourceServer | undefined
}

/**
 * A login, whole: the password check under the account's throttle, then a new session. Both of
 * its audit events are written here: `login_failed`, and `login_succeeded` in the session's own
 * transaction.
 */
export async function logIn (
  deps: { login: LoginDeps, sessions: SessionDeps }, input: LoginInput, context: RequestContext
): Promise<IssuedTokens> {
  const { userId, verified } = await checkPassword(deps.login, input, context)
  if (!verified || userId === undefined) {
    // A known account's failures are recorded against it, so its owner can see them.
    const event = { type: 'login_failed', userId: userId ?? null, ...context } as const
    await insertAuditEvent(deps.login.db, event, deps.login.clock.now())
    throw invalidCredentials()
  }
  return await startSession(deps.sessions, {
    userId,
    clientId: input.clientId,
    delivery: input.delivery,
    resource: input.resource,
    context,
    audit: 'login_succeeded'
  })
}

/**
 * The account of this email, and whether the password is its own. Unknown email and wrong password take
 * the same path and the same argon2 work (a dummy hash stands in for the missing one). A hash made
 * with older parameters is replaced on success.
 */
async function checkPassword (
  deps: LoginDeps, input: { email: string, password: string }, context: RequestContext
): Promise<{ userId: string | undefined, verified: boolean }> {
  const email = normalizeEmail(input.email)
  const password = input.password.normalize('NFKC')
  const user = await findUserByEmail(deps.db, email)
  const ok = await checkThrottled(deps, throttleKey(email, context.ip),
    async () => await deps.hasher.verify(user?.password_hash, password) && user !== undefined)
  if (user === undefined || !ok) return { userId: user?.id, verified: false }
  if (deps.hasher.needsRehash(user.password_hash)) {
    await updatePasswordHash(deps.db, user.id, await deps.hasher.hash(password))
  }
  return { userId: user.id, verified: true }
}
