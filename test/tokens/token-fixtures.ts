import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { decodeJwt } from 'jose'
import { postJson, registerUser } from '../helper.js'

/** The issuer and audience test/helper.ts configures (TEST_ENV). */
export const TEST_ISSUER = 'http://issuer.test'
export const TEST_AUDIENCE = 'http://api.test'
export const FIRST_PARTY_CLIENT_ID = 'first-party'

export const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const
export type Algorithm = typeof ALGORITHMS[number]

export interface LoggedIn {
  user: { id: string, email: string, password: string }
  accessToken: string
  refreshToken: string
  sessionId: string
}

/** Register a fresh user and log in with delivery "body", so the refresh token is in the JSON. */
export async function registerAndLogin (app: FastifyInstance): Promise<LoggedIn> {
  const user = await registerUser(app)
  const response = await postJson(app, '/auth/login', { email: user.email, password: user.password, delivery: 'body' })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
  const body = response.json()
  return { user, accessToken: body.accessToken, refreshToken: body.refreshToken, sessionId: body.sessionId }
}

/** Log an existing user in again (a new session, signed with whatever key is current now). */
export async function loginAgain (app: FastifyInstance, user: { email: string, password: string }): Promise<{ accessToken: string, sessionId: string }> {
  const response = await postJson(app, '/auth/login', { email: user.email, password: user.password, delivery: 'body' })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
  return response.json()
}

export async function getMe (app: FastifyInstance, authorization?: string, url = '/auth/me'): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } })
}

export const bearer = (token: string): string => `Bearer ${token}`

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
