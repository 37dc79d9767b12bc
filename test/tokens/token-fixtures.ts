import { decodeJwt } from 'jose'

/** The issuer and audience test/helper.ts configures (TEST_ENV). */
export const TEST_ISSUER = 'http://issuer.test'
export const TEST_AUDIENCE = 'http://api.test'
export const FIRST_PARTY_CLIENT_ID = 'first-party'

export const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const
export type Algorithm = typeof ALGORITHMS[number]

const base64urlJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The same token with claims changed in its payload and the original signature kept. */
export function tamperPayload (token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.')
  return [header, base64urlJson({ ...decodeJwt(token), ...changes }), signature].join('.')
}

/** An unsigned compact JWS (alg "none"): header and payload as given, empty signature. */
export function unsignedToken (header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${base64urlJson(header)}.${base64urlJson(payload)}.`
}
