import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import type { PasswordPolicy } from '../domain/credentials/password-policy.js'
import type { PasswordHasher } from '../domain/credentials/password.js'
import type { KeyStore } from '../domain/keys/key-store.js'
import type { Clock } from '../lib/clock.js'
import type { AuthMetrics } from './metrics.js'
import { createClientServices, type ClientServices } from './clients.js'
import { createCredentialServices, type CredentialServices } from './credentials.js'
import { createOperationServices, type OperationServices } from './operations.js'
import { createSessionServices, type SessionServices } from './sessions.js'
import { buildWiring, type Wiring } from './wiring.js'

// The types the routes render or pass in, so that routes import the service layer and nothing below.
export type { Caller, RefreshOutcome, SessionView } from './sessions.js'
export type { ClientCredentials } from '../domain/clients/clients.js'
export type { RequestContext } from '../domain/request-context.js'
export type { IssuedTokens } from '../domain/sessions/issue-tokens.js'

export interface ServiceDeps {
  config: Config
  db: Kysely<Database>
  clock: Clock
  keys: KeyStore
  hasher: PasswordHasher
  passwordPolicy: PasswordPolicy
  metrics: AuthMetrics
}

/**
 * Every use case of the service, one function each, free of HTTP: the routes parse a request,
 * call one of these and render what it returns. Where the caller must decide (a refresh that
 * fails still has to clear a cookie), the answer is a typed outcome; other refusals are thrown
 * as AppErrors (src/errors.ts), which each wire format renders in its own words.
 */
export type Services = CredentialServices & SessionServices & ClientServices & OperationServices & {
  /** The rules' wiring, built once: for the commands and tests that drive a rule directly. */
  readonly wiring: Wiring
}

export function createServices (deps: ServiceDeps): Services {
  const wiring = buildWiring(deps)
  return {
    ...createCredentialServices(deps, wiring),
    ...createSessionServices(deps, wiring),
    ...createClientServices(deps, wiring),
    ...createOperationServices(deps),
    wiring
  }
}
