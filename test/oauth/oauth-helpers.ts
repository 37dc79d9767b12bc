import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'

/** Shared steps of the /oauth tests: form posts, HTTP Basic and RFC 6749 error checks. */

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

export async function postForm (
  app: FastifyInstance,
  url: string,
  params: Record<string, string> | URLSearchParams,
  headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  const payload = (params instanceof URLSearchParams ? params : new URLSearchParams(params)).toString()
  return await app.inject({ method: 'POST', url, payload, headers: { ...FORM, ...headers } })
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
export const basic = (clientId: string, clientSecret: string): Record<string, string> => {
  const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`
  return { authorization: `Basic ${Buffer.from(pair, 'utf8').toString('base64')}` }
}

/** An RFC 6749 §5.2 error: the status, exactly `{error, error_description}`, JSON, never cached. */
export function assertOAuthError (t: Test, response: LightMyRequestResponse, status: number, error: string): void {
  t.equal(response.statusCode, status, `status ${status} (${response.body.slice(0, 200)})`)
  t.match(response.headers['content-type'], /^application\/json/, 'plain JSON, not problem+json')
  t.equal(response.headers['cache-control'], 'no-store', 'Cache-Control: no-store')
  let body: Record<string, unknown> = {}
  try {
    body = response.json()
  } catch {
    t.fail(`the body is not JSON: ${response.body.slice(0, 200)}`)
  }
  t.equal(body.error, error, `error ${error}`)
  t.same(Object.keys(body).sort(), ['error', 'error_description'], 'exactly {error, error_description}')
  t.type(body.error_description, 'string')
  t.not(body.error_description, '', 'a description is given')
}
