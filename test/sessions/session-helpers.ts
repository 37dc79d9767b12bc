import { createHash } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { DatabaseHandle } from '../../src/db/connect.js'
import { postJson, registerUser } from '../helper.js'

/** Shared steps of the session tests: log in, refresh, call /auth/me, read cookies and rows. */

export interface TestUser { email: string, password: string, id: string }

export interface BodyTokens {
  accessToken: string
  refreshToken: string
  sessionId: string
  refreshExpiresIn: number
}

export const REFRESH_COOKIE = 'refresh_token'

export const newUser = async (app: FastifyInstance): Promise<TestUser> => await registerUser(app)

export async function login (app: FastifyInstance, user: { email: string, password: string }, delivery?: 'cookie' | 'body', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const body = delivery === undefined ? { email: user.email, password: user.password } : { email: user.email, password: user.password, delivery }
  return await postJson(app, '/auth/login', body, headers)
}

/** Log in with delivery "body" and return the tokens; throws unless the login answers 200. */
export async function loginForTokens (app: FastifyInstance, user: { email: string, password: string }, headers: Record<string, string> = {}): Promise<BodyTokens> {
  const response = await login(app, user, 'body', headers)
  return tokensOf(response, 'login')
}

export function tokensOf (response: LightMyRequestResponse, what: string): BodyTokens {
  if (response.statusCode !== 200) throw new Error(`${what} failed: ${response.statusCode} ${response.body}`)
  const body = response.json()
  return { accessToken: body.accessToken, refreshToken: body.refreshToken, sessionId: body.sessionId, refreshExpiresIn: body.refreshExpiresIn }
}

export async function refreshWithBody (app: FastifyInstance, refreshToken: string): Promise<LightMyRequestResponse> {
  return await postJson(app, '/auth/refresh', { refreshToken })
}

/** A browser's silent refresh: only the cookie, no body and no content type. */
export async function refreshWithCookie (app: FastifyInstance, cookie: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/auth/refresh', cookies: { [REFRESH_COOKIE]: cookie }, headers })
}

export async function me (app: FastifyInstance, accessToken: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${accessToken}` } })
}

export const bearer = (accessToken: string): Record<string, string> => ({ authorization: `Bearer ${accessToken}` })

export interface SetCookie {
  name: string
  value: string
  /** Attribute names in lower case, mapped to their value ('' for flags such as HttpOnly). */
  attributes: Map<string, string>
  raw: string
}

/** Every Set-Cookie header of a response, parsed without a cookie library's opinions. */
export function setCookies (response: LightMyRequestResponse): SetCookie[] {
  const header = response.headers['set-cookie']
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [String(header)]
  return lines.map((raw) => {
    const [pair = '', ...rest] = raw.split(';').map((part) => part.trim())
    const eq = pair.indexOf('=')
    const attributes = new Map<string, string>()
    for (const attribute of rest) {
      const at = attribute.indexOf('=')
      if (at === -1) attributes.set(attribute.toLowerCase(), '')
      else attributes.set(attribute.slice(0, at).toLowerCase(), attribute.slice(at + 1))
    }
    return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attributes, raw }
  })
}

export function refreshCookieOf (response: LightMyRequestResponse): SetCookie | undefined {
  return setCookies(response).find((cookie) => cookie.name === REFRESH_COOKIE)
}

/** SHA-256 base64url, computed here independently of the product code. */
export const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('base64url')

export const secondsAgo = (seconds: number): Date => new Date(Date.now() - seconds * 1000)

export async function sessionRow (database: DatabaseHandle, sessionId: string) {
  return await database.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow()
}

export async function unspentTokenCount (database: DatabaseHandle, sessionId: string): Promise<number> {
  const rows = await database.db.selectFrom('refresh_tokens').select('id').where('session_id', '=', sessionId).where('spent_at', 'is', null).execute()
  return rows.length
}

/** Sessions of a user that are neither revoked nor past their absolute expiry. */
export async function liveSessionIds (database: DatabaseHandle, userId: string): Promise<string[]> {
  const rows = await database.db.selectFrom('sessions').select('id')
    .where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', new Date())
    .execute()
  return rows.map((row) => row.id)
}

export async function auditTypes (database: DatabaseHandle, filter: { userId?: string, sessionId?: string }): Promise<string[]> {
  let query = database.db.selectFrom('audit_events').select('type')
  if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
  if (filter.sessionId !== undefined) query = query.where('session_id', '=', filter.sessionId)
  return (await query.execute()).map((row) => row.type)
}
