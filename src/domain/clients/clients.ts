import { createHash, timingSafeEqual } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { findActiveOAuthClient, insertOAuthClient, type OAuthClientRow } from '../../db/repositories/oauth-clients.js'
import { invalidClient } from '../../errors.js'
import { randomToken } from '../../lib/random.js'
import { splitScopes, type ResourceServer } from '../authorization/resources.js'

/** A registered service client, as the OAuth endpoints see it. */
export interface ServiceClient {
  clientId: string
  name: string | null
  /** Space-separated scopes the client may ask for. */
  scope: string | null
}

/** Client credentials as a request presented them (RFC 6749 §2.3.1): HTTP Basic or the body. */
export interface ClientCredentials { clientId: string, clientSecret: string | undefined, via: 'basic' | 'body' }

const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest()
// Compared against when the client id is unknown, so unknown ids and wrong secrets cost the same.
const DUMMY_HASH = hashSecret('no such client')

/**
 * Register a service client for client_credentials. The secret has 256 bits of entropy, so its
 * SHA-256 is what is stored (argon2 would add nothing but latency); it is returned only here.
 */
export async function createServiceClient (
  db: Kysely<Database>, input: { name?: string, scope?: string }
): Promise<{ clientId: string, clientSecret: string }> {
  const clientId = `svc_${randomToken(12)}`
  const clientSecret = randomToken(32)
  await insertOAuthClient(db, {
    clientId,
    secretHash: hashSecret(clientSecret).toString('base64url'),
    name: input.name ?? null,
    scope: input.scope?.trim() === '' ? null : input.scope?.trim() ?? null
  })
  return { clientId, clientSecret }
}

/** The client if the id exists, is not revoked and the secret matches (compared in constant time). */
export async function authenticateServiceClient (
  db: Kysely<Database>, clientId: string, clientSecret: string
): Promise<ServiceClient | undefined> {
  const plausible = clientId.length <= 128 && !/[\p{Cc}\p{Cs}]/u.test(clientId)
  const row: OAuthClientRow | undefined = plausible ? await findActiveOAuthClient(db, clientId) : undefined
  const expected = row === undefined ? DUMMY_HASH : Buffer.from(row.secret_hash, 'base64url')
  const presented = hashSecret(clientSecret)
  const matches = expected.length === presented.length && timingSafeEqual(expected, presented)
  if (row === undefined || !matches) return undefined
  return { clientId: row.client_id, name: row.name, scope: row.scope }
}

/**
 * The scope to grant: what was asked for, if every part of it is registered for the client (and,
 * for a token meant for a resource server, for that resource too), or everything allowed when
 * nothing was asked. `undefined` means "refuse" (invalid_scope).
 */
export function grantedScope (
  client: ServiceClient, requested: string | undefined, resource?: ResourceServer
): string | undefined {
  const forResource = resource === undefined ? undefined : new Set(resource.scopes)
  const allowed = splitScopes(client.scope ?? '').filter((scope) => forResource?.has(scope) ?? true)
  if (requested === undefined || requested.trim() === '') return allowed.join(' ')
  const asked = splitScopes(requested)
  return asked.every((scope) => allowed.includes(scope)) ? asked.join(' ') : undefined
}

/** Authenticate a confidential service client, or fail with 401 invalid_client. */
export async function requireServiceClient (
  db: Kysely<Database>, credentials: ClientCredentials | undefined
): Promise<ServiceClient> {
  if (credentials?.clientSecret === undefined) {
    throw invalidClient('Client authentication is required', credentials?.via !== 'body')
  }
  const client = await authenticateServiceClient(db, credentials.clientId, credentials.clientSecret)
  if (client === undefined) throw invalidClient('Unknown client or wrong secret', credentials.via === 'basic')
  return client
}

/**
 * Public clients (the first-party SPA, mobile apps) send no secret and need none; a client that
 * does present a secret must get it right. The authenticated client's id, if any.
 */
export async function authenticateClientIfPresented (
  db: Kysely<Database>, credentials: ClientCredentials | undefined
): Promise<string | undefined> {
  if (credentials?.clientSecret === undefined) return undefined
  return (await requireServiceClient(db, credentials)).clientId
}
