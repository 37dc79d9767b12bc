import { resolveResource } from '../domain/authorization/resources.js'
import { changePassword } from '../domain/credentials/change-password.js'
import { logIn } from '../domain/credentials/login.js'
import { registerUser } from '../domain/credentials/register.js'
import type { RequestContext } from '../domain/request-context.js'
import type { Delivery, IssuedTokens } from '../domain/sessions/issue-tokens.js'
import type { PublicUser } from '../domain/users.js'
import { isRefusal } from '../errors.js'
import type { ServiceDeps } from './index.js'
import type { Caller } from './sessions.js'
import type { Wiring } from './wiring.js'

export interface LoginRequest {
  email: string
  password: string
  delivery: Delivery
  /** A registered resource server's URI (RFC 8707); none: this service's AUDIENCE. */
  resource: string | undefined
}

export interface CredentialServices {
  /** Create an account: weak_password, email_taken. */
  register: (input: { email: string, password: string }) => Promise<PublicUser>
  /** Start a session: invalid_target, invalid_credentials, rate_limited. */
  login: (input: LoginRequest, context: RequestContext) => Promise<IssuedTokens>
  /** Re-authenticate, change the password and end every other session: invalid_credentials, weak_password. */
  changePassword: (
    caller: Caller, input: { currentPassword: string, newPassword: string }, context: RequestContext
  ) => Promise<void>
}

export function createCredentialServices (deps: ServiceDeps, wiring: Wiring): CredentialServices {
  const { db, metrics } = deps
  return {
    async register (input) {
      return await registerUser({ db, passwordPolicy: deps.passwordPolicy, hasher: deps.hasher }, input)
    },

    async login (input, context) {
      // An unknown resource is refused before the password is checked: nothing is spent or issued.
      const resource = await resolveResource(db, input.resource)
      const loginInput = { ...input, clientId: deps.config.FIRST_PARTY_CLIENT_ID, resource }
      let tokens: IssuedTokens
      try {
        tokens = await logIn({ login: wiring.login, sessions: wiring.sessions }, loginInput, context)
      } catch (error) {
        if (isRefusal(error, 'invalid_credentials')) metrics.loginFailed()
        throw error
      }
      metrics.loginSucceeded()
      metrics.tokenIssued('password')
      return tokens
    },

    async changePassword (caller, input, context) {
      const rules = { ...wiring.revocation, passwordPolicy: deps.passwordPolicy, hasher: deps.hasher }
      await changePassword({ ...rules, throttle: wiring.login.throttle }, {
        userId: caller.sub,
        currentSessionId: caller.sid,
        currentPassword: input.currentPassword,
        newPassword: input.newPassword
      }, context)
    }
  }
}
