import type { FastifyRequest } from 'fastify'
import type { ClientCredentials } from '../../services/index.js'
import { invalidClient, invalidRequest } from '../../errors.js'

/**
 * The client credentials a request presents (RFC 6749 §2.3.1): HTTP Basic with form-urlencoded id
 * and secret, or client_id/client_secret in the body, not both. Parsing only: the service
 * authenticates them.
 */
export function presentedClientCredentials (request: FastifyRequest): ClientCredentials | undefined {
  const body = (request.body ?? {}) as Record<string, string | undefined>
  const header = request.headers.authorization
  const basic = header === undefined ? undefined : /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header)
  if (header !== undefined && basic === null) {
    throw invalidClient('Unsupported Authorization scheme; use HTTP Basic', false)
  }
  if (basic !== null && basic !== undefined) {
    if (body.client_secret !== undefined) throw invalidRequest('Use one client authentication method, not two')
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw invalidClient('Malformed HTTP Basic credentials', true)
    try {
      const clientId = decodeURIComponent(decoded.slice(0, colon))
      return { clientId, clientSecret: decodeURIComponent(decoded.slice(colon + 1)), via: 'basic' }
    } catch {
      throw invalidClient('Malformed HTTP Basic credentials', true)
    }
  }
  if (body.client_id === undefined) return undefined
  return { clientId: body.client_id, clientSecret: body.client_secret, via: 'body' }
}
