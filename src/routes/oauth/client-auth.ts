import type { FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { authenticateServiceClient, type ServiceClient } from '../../domain/clients/clients.js'
import { AppError } from '../../errors.js'

export interface ClientCredentials { clientId: string, clientSecret: string | undefined, via: 'basic' | 'body' }

/** RFC 6749 §2.3.1: HTTP Basic with form-urlencoded id and secret, or client_id/client_secret in the body — not both. */
export function presentedClientCredentials (request: FastifyRequest): ClientCredentials | undefined {
  const body = (request.body ?? {}) as Record<string, string | undefined>
  const header = request.headers.authorization
  const basic = header === undefined ? undefined : /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header)
  if (header !== undefined && basic === null) throw invalidClient('Unsupported Authorization scheme; use HTTP Basic', false)
  if (basic !== null && basic !== undefined) {
    if (body.client_secret !== undefined) throw new AppError('invalid_request', 'Use one client authentication method, not two')
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw invalidClient('Malformed HTTP Basic credentials', true)
    try {
      return { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)), via: 'basic' }
    } catch {
      throw invalidClient('Malformed HTTP Basic credentials', true)
    }
  }
  if (body.client_id === undefined) return undefined
  return { clientId: body.client_id, clientSecret: body.client_secret, via: 'body' }
}

/** Authenticate a confidential service client, or fail with 401 invalid_client. */
export async function requireServiceClient (db: Kysely<Database>, request: FastifyRequest): Promise<ServiceClient> {
  const credentials = presentedClientCredentials(request)
  if (credentials?.clientSecret === undefined) throw invalidClient('Client authentication is required', credentials?.via !== 'body')
  const client = await authenticateServiceClient(db, credentials.clientId, credentials.clientSecret)
  if (client === undefined) throw invalidClient('Unknown client or wrong secret', credentials.via === 'basic')
  return client
}

/**
 * Public clients (the first-party SPA, mobile apps) send no secret and need none; a client that
 * does present a secret must get it right. Returns the authenticated client's id, if any.
 */
export async function authenticateClientIfPresented (db: Kysely<Database>, request: FastifyRequest): Promise<string | undefined> {
  const credentials = presentedClientCredentials(request)
  if (credentials?.clientSecret === undefined) return undefined
  const client = await authenticateServiceClient(db, credentials.clientId, credentials.clientSecret)
  if (client === undefined) throw invalidClient('Unknown client or wrong secret', credentials.via === 'basic')
  return client.clientId
}

// RFC 6749 §5.2: a 401 answer to a client that tried HTTP Basic names the scheme it must use.
export const invalidClient = (detail: string, basic: boolean): AppError =>
  new AppError('invalid_client', detail, basic ? { headers: { 'www-authenticate': 'Basic realm="token-service", charset="UTF-8"' } } : {})
