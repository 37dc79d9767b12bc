import { getJson } from './http.js'

export interface Endpoints {
  jwksUri: string
  revocationsEndpoint: string | undefined
  revocationsStreamEndpoint: string | undefined
}

const stringAt = (document: Record<string, unknown>, name: string): string | undefined =>
  typeof document[name] === 'string' ? document[name] : undefined

/**
 * The issuer's authorization server metadata (RFC 8414). Its `issuer` must be exactly the one
 * configured, so a misconfigured or hostile document cannot point the kit at someone else's keys.
 */
export async function discover (issuer: string): Promise<Endpoints> {
  const { body } = await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)
  if (body === null || typeof body !== 'object') throw new Error('the discovery document is not a JSON object')
  const document = body as Record<string, unknown>
  if (document.issuer !== issuer) throw new Error(`the discovery document names another issuer: ${String(document.issuer)}`)
  const jwksUri = stringAt(document, 'jwks_uri')
  if (jwksUri === undefined) throw new Error('the discovery document has no jwks_uri')
  return {
    jwksUri,
    revocationsEndpoint: stringAt(document, 'revocations_endpoint'),
    revocationsStreamEndpoint: stringAt(document, 'revocations_stream_endpoint')
  }
}
