import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { findResourceServer, upsertResourceServer } from '../../db/repositories/resource-servers.js'
import { invalidTarget, OperatorError } from '../../errors.js'

/** A registered resource server (RFC 8707): the `aud` of the tokens minted for it. */
export interface ResourceServer {
  uri: string
  /** The scopes a client may be granted for this resource. */
  scopes: string[]
  /** Caps the access-token lifetime; `null` leaves it at ACCESS_TOKEN_TTL. */
  ttlSeconds: number | null
}

export const MAX_RESOURCE_URI_LENGTH = 2048
export const MAX_RESOURCE_TTL_SECONDS = 86_400
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/
// Whitespace, controls and characters RFC 3986 never allows in a URI.
const NOT_IN_A_URI = /[\s\p{Cc}"<>\\^`{|}]/u

/**
 * Why `raw` is not a resource indicator, or undefined when it is one: RFC 8707 §2 asks for an
 * absolute URI (RFC 3986 §4.3) without a fragment. The URI is kept exactly as written: resources
 * match by string equality, never after normalisation.
 */
export function resourceUriProblem (raw: string): string | undefined {
  if (raw.length === 0 || raw.length > MAX_RESOURCE_URI_LENGTH) {
    return `resource must be an absolute URI of 1 to ${MAX_RESOURCE_URI_LENGTH} characters`
  }
  if (raw.includes('#')) return 'resource must not contain a fragment'
  if (!SCHEME.test(raw) || NOT_IN_A_URI.test(raw) || !URL.canParse(raw)) return 'resource must be an absolute URI'
  return undefined
}

/**
 * The registered resource a request names, `undefined` when it names none (the token is then for
 * this service's own AUDIENCE). Called before anything is spent or issued.
 */
export async function resolveResource (
  db: Kysely<Database>, raw: string | undefined
): Promise<ResourceServer | undefined> {
  if (raw === undefined) return undefined
  const problem = resourceUriProblem(raw)
  if (problem !== undefined) throw invalidTarget(problem)
  const row = await findResourceServer(db, raw)
  if (row === undefined) throw invalidTarget('resource is not a registered resource server')
  return toResourceServer(row)
}

/** Register a resource server, or update the scopes and lifetime cap of one already registered. */
export async function registerResource (
  db: Kysely<Database>, input: { uri: string, scopes?: string, ttlSeconds?: number }
): Promise<ResourceServer> {
  const problem = resourceUriProblem(input.uri)
  if (problem !== undefined) throw new OperatorError(problem.replace(/^resource/, 'uri'))
  const scopes = splitScopes(input.scopes ?? '')
  const bad = scopes.find((scope) => !SCOPE_TOKEN.test(scope))
  if (bad !== undefined) throw new OperatorError(`invalid scope ${JSON.stringify(bad)}`)
  const ttl = input.ttlSeconds ?? null
  if (ttl !== null && (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_RESOURCE_TTL_SECONDS)) {
    throw new OperatorError(`ttl must be a whole number of seconds from 1 to ${MAX_RESOURCE_TTL_SECONDS}`)
  }
  const scope = [...new Set(scopes)].join(' ')
  const row = await upsertResourceServer(db, { uri: input.uri, scope, ttl_seconds: ttl })
  return toResourceServer(row)
}

export const splitScopes = (scope: string): string[] => scope.split(' ').filter((part) => part !== '')

const toResourceServer = (row: { uri: string, scope: string, ttl_seconds: number | null }): ResourceServer =>
  ({ uri: row.uri, scopes: splitScopes(row.scope), ttlSeconds: row.ttl_seconds })

/**
 * Whether `aud` names an audience this service mints tokens for: its own AUDIENCE, or a resource
 * server registered now. A token for anything else was never ours to introspect.
 */
export async function isKnownAudience (
  db: Kysely<Database>, aud: string | string[], ownAudience: string
): Promise<boolean> {
  if (aud === ownAudience || (Array.isArray(aud) && aud.includes(ownAudience))) return true
  if (typeof aud !== 'string' || resourceUriProblem(aud) !== undefined) return false
  return await findResourceServer(db, aud) !== undefined
}
