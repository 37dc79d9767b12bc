import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { postJson, STRONG_PASSWORD, uniqueEmail } from '../helper.js'

/**
 * The HTTP steps every test shares: register, log in (cookie or body), refresh, call /auth/me,
 * bearer headers and Set-Cookie parsing. Each step is one real request through app.inject; the
 * steps that return parsed values throw unless the request answered as expected.
 */

export interface TestUser { email: string, password: string, id: string }
export interface Credentials { email: string, password: string }

export interface BodyTokens {
  accessToken: string
  refreshToken: string
  sessionId: string
  refreshExpiresIn: number
}

export const REFRESH_COOKIE = 'refresh_token'

/** POST /auth/register as it is sent (a fresh email and the strong password unless given). */
export async function register (
  app: FastifyInstance,
  email = uniqueEmail(),
  password = STRONG_PASSWORD
): Promise<LightMyRequestResponse> {
  return await postJson(app, '/auth/register', { email, password })
}

/** POST /auth/register; throws unless it answers 201. */
export async function registerUser (
  app: FastifyInstance,
  email = uniqueEmail(),
  password = STRONG_PASSWORD
): Promise<TestUser> {
  const response = await register(app, email, password)
  if (response.statusCode !== 201) throw new Error(`register failed: ${response.statusCode} ${response.body}`)
  return { email, password, id: response.json().user.id }
}

/** POST /auth/login as it is sent: no delivery field unless one is given (the default is the cookie). */
export async function login (
  app: FastifyInstance,
  user: Credentials,
  delivery?: 'cookie' | 'body',
  headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  const credentials = { email: user.email, password: user.password }
  const body = delivery === undefined ? credentials : { ...credentials, delivery }
  return await postJson(app, '/auth/login', body, headers)
}

/** Log in with delivery "body" and return the tokens; throws unless the login answers 200. */
export async function loginForTokens (
  app: FastifyInstance,
  user: Credentials,
  headers: Record<string, string> = {}
): Promise<BodyTokens> {
  return tokensOf(await login(app, user, 'body', headers), 'login')
}

/** Log in without a delivery field (cookie mode): the refresh cookie's value and the session id. */
export async function loginWithCookie (
  app: FastifyInstance,
  user: Credentials
): Promise<{ cookie: string, sessionId: string }> {
  const response = await login(app, user)
  const cookie = refreshCookieOf(response)
  if (response.statusCode !== 200 || cookie === undefined) throw new Error(`login failed: ${response.statusCode}`)
  return { cookie: cookie.value, sessionId: response.json().sessionId }
}

export type LoggedIn = BodyTokens & { user: TestUser }

/** A fresh user, logged in with delivery "body". */
export async function registerAndLogin (app: FastifyInstance): Promise<LoggedIn> {
  const user = await registerUser(app)
  return { user, ...await loginForTokens(app, user) }
}

/** The tokens of a 200 login or refresh answer; throws (naming `what`) on any other status. */
export function tokensOf (response: LightMyRequestResponse, what: string): BodyTokens {
  if (response.statusCode !== 200) throw new Error(`${what} failed: ${response.statusCode} ${response.body}`)
  const body = response.json()
  return {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    sessionId: body.sessionId,
    refreshExpiresIn: body.refreshExpiresIn
  }
}

export async function refreshWithBody (app: FastifyInstance, refreshToken: string): Promise<LightMyRequestResponse> {
  return await postJson(app, '/auth/refresh', { refreshToken })
}

/** A browser's silent refresh: only the cookie, no body and no content type. */
export async function refreshWithCookie (
  app: FastifyInstance,
  cookie: string,
  headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/auth/refresh', cookies: { [REFRESH_COOKIE]: cookie }, headers })
}

/** The value of an Authorization header for this token. */
export const bearerValue = (token: string): string => `Bearer ${token}`

/** Request headers carrying this access token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: bearerValue(token) })

export async function me (app: FastifyInstance, accessToken: string): Promise<LightMyRequestResponse> {
  return await meWith(app, bearerValue(accessToken))
}

/** GET /auth/me (or another URL) with exactly this Authorization header, or none. */
export async function meWith (
  app: FastifyInstance,
  authorization?: string,
  url = '/auth/me'
): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } })
}

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
