import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'

export const APP_ORIGIN = 'http://localhost:5173'
export const OTHER_APP_ORIGIN = 'https://app.example.com'
export const FOREIGN_ORIGIN = 'https://evil.example'
export const ALLOWED_ORIGINS = `${APP_ORIGIN}, ${OTHER_APP_ORIGIN}`

/** The answer of a browser's preflight for `method` on `url`. */
export async function preflight (
  app: FastifyInstance, url: string, method: string, origin?: string, requestHeaders = 'content-type, authorization'
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {
    'access-control-request-method': method, 'access-control-request-headers': requestHeaders
  }
  if (origin !== undefined) headers.origin = origin
  return await app.inject({ method: 'OPTIONS', url, headers })
}

const header = (response: LightMyRequestResponse, name: string): string => String(response.headers[name] ?? '')
const listOf = (value: string): string[] =>
  value.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '')

export function assertVaryOrigin (t: Test, response: LightMyRequestResponse): void {
  t.ok(listOf(header(response, 'vary')).includes('origin'), `Vary names Origin (got "${header(response, 'vary')}")`)
}

/** No Access-Control-Allow-* (nor Expose/Max-Age) header at all: the browser blocks the call. */
export function assertNoCors (t: Test, response: LightMyRequestResponse): void {
  const cors = Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))
  t.same(cors, [], 'no Access-Control-* header')
}

/** A preflight accepted for a listed origin, with credentials. */
export function assertCredentialedPreflight (
  t: Test, response: LightMyRequestResponse, origin: string, method: string
): void {
  t.equal(response.statusCode, 204, 'preflight answers 204')
  t.equal(response.body, '', 'with no body')
  t.equal(header(response, 'access-control-allow-origin'), origin, 'Allow-Origin echoes the origin (never *)')
  t.equal(header(response, 'access-control-allow-credentials'), 'true', 'Allow-Credentials: true')
  t.ok(listOf(header(response, 'access-control-allow-methods')).includes(method.toLowerCase()),
    `Allow-Methods covers ${method}`)
  const allowedHeaders = listOf(header(response, 'access-control-allow-headers'))
  t.ok(allowedHeaders.includes('content-type') && allowedHeaders.includes('authorization'),
    'Allow-Headers covers content-type and authorization')
  const maxAge = Number(header(response, 'access-control-max-age'))
  t.ok(Number.isInteger(maxAge) && maxAge > 0 && maxAge <= 7200, `Max-Age between 1 and 7200 (got ${maxAge})`)
  assertVaryOrigin(t, response)
}

/** An actual (non-preflight) answer to a listed origin, whatever its status. */
export function assertCredentialedResponse (t: Test, response: LightMyRequestResponse, origin: string): void {
  t.equal(header(response, 'access-control-allow-origin'), origin,
    `Allow-Origin echoes the origin (status ${response.statusCode})`)
  t.equal(header(response, 'access-control-allow-credentials'), 'true', 'Allow-Credentials: true')
  const exposed = listOf(header(response, 'access-control-expose-headers'))
  for (const name of ['retry-after', 'www-authenticate', 'x-request-id']) {
    t.ok(exposed.includes(name), `Expose-Headers names ${name}`)
  }
  assertVaryOrigin(t, response)
}

/** A public document: any origin, `*`, never credentials. */
export function assertPublicResponse (t: Test, response: LightMyRequestResponse): void {
  t.equal(header(response, 'access-control-allow-origin'), '*', 'Allow-Origin: *')
  t.notOk('access-control-allow-credentials' in response.headers, 'no Allow-Credentials')
}
