import { insertAuditEvent } from '../db/repositories/audit-events.js'
import { resolveResource } from '../domain/authorization/resources.js'
import {
  authenticateClientIfPresented, grantedScope, requireServiceClient, type ClientCredentials
} from '../domain/clients/clients.js'
import type { RequestContext } from '../domain/request-context.js'
import { revokeByToken } from '../domain/revocations/revoke-token.js'
import { accessTokenDepsFor } from '../domain/sessions/access-cap.js'
import { signAccessToken } from '../domain/tokens/access-token.js'
import { introspectToken, type Introspection } from '../domain/tokens/introspection.js'
import { invalidRequest, invalidScope } from '../errors.js'
import type { ServiceDeps } from './index.js'
import type { Wiring } from './wiring.js'

export interface ClientCredentialsRequest {
  client: ClientCredentials | undefined
  scope: string | undefined
  resource: string | undefined
}

export interface ClientToken {
  accessToken: string
  expiresIn: number
  /** The granted scope; '' when the client holds none. */
  scope: string
}

export interface ClientServices {
  /** RFC 6749 §4.4: invalid_client, invalid_target, invalid_scope. */
  clientCredentials: (input: ClientCredentialsRequest, context: RequestContext) => Promise<ClientToken>
  /** RFC 7009: revoke a token's session; unknown tokens are not an error. invalid_client when wrong credentials. */
  revoke: (input: { token: string, client: ClientCredentials | undefined }, context: RequestContext) => Promise<void>
  /** RFC 7662, for registered service clients: invalid_client, then invalid_request without a token. */
  introspect: (
    input: { token: string | undefined, hint: string | undefined, client: ClientCredentials | undefined }
  ) => Promise<Introspection>
}

export function createClientServices (deps: ServiceDeps, wiring: Wiring): ClientServices {
  const { db, clock, metrics } = deps
  const introspection = { db, accessTokens: wiring.accessTokens, idleSeconds: deps.config.SESSION_IDLE_TTL }

  return {
    async clientCredentials (input, context) {
      const client = await requireServiceClient(db, input.client)
      const resource = await resolveResource(db, input.resource)
      const scope = grantedScope(client, input.scope, resource)
      if (scope === undefined) {
        throw invalidScope(resource === undefined
          ? 'The requested scope is not registered for this client'
          : 'The requested scope is not registered for both this client and the resource')
      }
      const access = await signAccessToken(accessTokenDepsFor(wiring.accessTokens, resource),
        { sub: client.clientId, clientId: client.clientId, scope })
      const event = { type: 'client_token_issued', clientId: client.clientId, ip: context.ip } as const
      await insertAuditEvent(db, event, clock.now())
      metrics.tokenIssued('client_credentials')
      return { accessToken: access.token, expiresIn: access.expiresIn, scope }
    },

    async revoke (input, context) {
      await authenticateClientIfPresented(db, input.client)
      await revokeByToken({ ...wiring.revocation, accessTokens: wiring.accessTokens }, input.token, context)
    },

    async introspect (input) {
      await requireServiceClient(db, input.client)
      if (input.token === undefined || input.token === '') throw invalidRequest('token is required')
      return await introspectToken(introspection, input.token, input.hint)
    }
  }
}
