import { randomUUID } from 'node:crypto'
import t from 'tap'
import { assertProblem, buildTestApp, openTestDatabase, postJson } from '../helper.js'
import { postForm } from '../oauth/oauth-helpers.js'
import {
  ALLOWED_ORIGINS, APP_ORIGIN, assertCredentialedPreflight, assertCredentialedResponse, assertNoCors, assertVaryOrigin,
  FOREIGN_ORIGIN, OTHER_APP_ORIGIN, preflight
} from './cors-assertions.js'
import {
  bearer, login, loginForTokens, refreshCookieOf, refreshWithCookie, registerUser
} from '../support/auth-steps.js'

/*
 * A browser frontend on another origin calls /auth/*, /oauth/token and /oauth/revoke with its
 * cookie: listed origins get credentialed CORS (preflight and actual answers, errors included),
 * other origins get no Access-Control-* header at all, and requests without an Origin (servers,
 * same-origin pages) get none either.
 */

const ROUTES: Array<[method: string, url: string]> = [
  ['POST', '/auth/register'],
  ['POST', '/auth/login'],
  ['POST', '/auth/refresh'],
  ['POST', '/auth/logout'],
  ['POST', '/auth/logout-all'],
  ['GET', '/auth/me'],
  ['GET', '/auth/sessions'],
  ['DELETE', `/auth/sessions/${randomUUID()}`],
  ['POST', '/auth/password'],
  ['POST', '/oauth/token'],
  ['POST', '/oauth/revoke']
]

t.test('CORS on the credentialed routes', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, { ALLOWED_ORIGINS }, { database })
  const user = await registerUser(app)

  t.test('a preflight from a listed origin answers 204 with credentialed CORS on every route', async (t) => {
    for (const origin of [APP_ORIGIN, OTHER_APP_ORIGIN]) {
      for (const [method, url] of ROUTES) {
        await t.test(`${origin} ${method} ${url}`, async (t) => {
          assertCredentialedPreflight(t, await preflight(app, url, method, origin), origin, method)
        })
      }
    }
  })

  t.test('a preflight from an unlisted origin or without Origin gets no CORS header and no 204', async (t) => {
    for (const origin of [FOREIGN_ORIGIN, 'null', `${APP_ORIGIN}.evil.example`, 'http://localhost:5174', undefined]) {
      for (const [method, url] of ROUTES) {
        const response = await preflight(app, url, method, origin)
        t.not(response.statusCode, 204, `${origin ?? 'no origin'} ${method} ${url}: not accepted`)
        assertNoCors(t, response)
        assertVaryOrigin(t, response)
      }
    }
  })

  t.test('an OPTIONS from a listed origin without Access-Control-Request-Method: 204, never text/plain', async (t) => {
    for (const [, url] of ROUTES) {
      const response = await app.inject({ method: 'OPTIONS', url, headers: { origin: APP_ORIGIN } })
      t.equal(response.statusCode, 204, `OPTIONS ${url} (${response.body.slice(0, 80)})`)
      t.equal(response.headers['access-control-allow-origin'], APP_ORIGIN)
      t.notMatch(String(response.headers['content-type'] ?? ''), /text\/plain/)
    }
  })

  t.test('service-to-service and operator routes get no CORS, even for a listed origin', async (t) => {
    const routes = [
      ['POST', '/oauth/introspect'], ['GET', '/health/ready'], ['GET', '/metrics'], ['GET', '/docs/json']
    ] as const
    for (const [method, url] of routes) {
      const response = await preflight(app, url, method, APP_ORIGIN)
      t.not(response.statusCode, 204, `${method} ${url}: preflight not accepted`)
      assertNoCors(t, response)
      const actual = await app.inject({ method, url, headers: { origin: APP_ORIGIN } })
      assertNoCors(t, actual)
    }
  })

  t.test('successful answers to a listed origin carry the CORS headers', async (t) => {
    const headers = { origin: APP_ORIGIN }
    const registered = await postJson(
      app, '/auth/register', { email: `cors-${randomUUID()}@example.com`, password: user.password }, headers
    )
    t.equal(registered.statusCode, 201)
    assertCredentialedResponse(t, registered, APP_ORIGIN)

    const loggedIn = await login(app, user, undefined, headers)
    t.equal(loggedIn.statusCode, 200)
    assertCredentialedResponse(t, loggedIn, APP_ORIGIN)
    const cookie = refreshCookieOf(loggedIn)?.value ?? ''
    const accessToken: string = loggedIn.json().accessToken

    const refreshed = await refreshWithCookie(app, cookie, headers)
    t.equal(refreshed.statusCode, 200, 'a cookie refresh from the listed origin works')
    assertCredentialedResponse(t, refreshed, APP_ORIGIN)

    const me = await app.inject({ method: 'GET', url: '/auth/me', headers: { ...headers, ...bearer(accessToken) } })
    t.equal(me.statusCode, 200)
    assertCredentialedResponse(t, me, APP_ORIGIN)

    const other = await loginForTokens(app, user)
    const deleted = await app.inject({
      method: 'DELETE', url: `/auth/sessions/${other.sessionId}`, headers: { ...headers, ...bearer(accessToken) }
    })
    t.equal(deleted.statusCode, 204)
    assertCredentialedResponse(t, deleted, APP_ORIGIN)

    const revoked = await postForm(app, '/oauth/revoke', { token: other.refreshToken }, { origin: OTHER_APP_ORIGIN })
    t.equal(revoked.statusCode, 200)
    assertCredentialedResponse(t, revoked, OTHER_APP_ORIGIN)
  })

  t.test('error answers to a listed origin carry them too, so the page can read the problem', async (t) => {
    const headers = { origin: APP_ORIGIN }

    const noToken = await app.inject({ method: 'GET', url: '/auth/me', headers })
    assertProblem(t, noToken, 401, 'invalid_token')
    t.match(noToken.headers['www-authenticate'], /^Bearer/, 'WWW-Authenticate is sent (and exposed)')
    assertCredentialedResponse(t, noToken, APP_ORIGIN)

    const wrongPassword = await login(
      app, { email: user.email, password: 'not the password at all' }, undefined, headers
    )
    assertProblem(t, wrongPassword, 401, 'invalid_credentials')
    assertCredentialedResponse(t, wrongPassword, APP_ORIGIN)

    const invalid = await postJson(app, '/auth/register', { email: 'nope' }, headers)
    assertProblem(t, invalid, 400, 'validation_failed')
    assertCredentialedResponse(t, invalid, APP_ORIGIN)

    const wrongType = await app.inject({
      method: 'POST', url: '/auth/login', payload: 'x', headers: { ...headers, 'content-type': 'text/plain' }
    })
    assertProblem(t, wrongType, 415, 'unsupported_media_type')
    assertCredentialedResponse(t, wrongType, APP_ORIGIN)

    const tooLarge = await postJson(app, '/auth/login', { email: 'a'.repeat(20_000), password: 'x' }, headers)
    assertProblem(t, tooLarge, 413, 'payload_too_large')
    assertCredentialedResponse(t, tooLarge, APP_ORIGIN)

    const unknownRoute = await app.inject({ method: 'GET', url: '/auth/nothing-here', headers })
    assertProblem(t, unknownRoute, 404, 'not_found')
    assertCredentialedResponse(t, unknownRoute, APP_ORIGIN)

    const badGrant = await postForm(
      app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'garbage' }, headers
    )
    t.equal(badGrant.statusCode, 400)
    t.equal(badGrant.json().error, 'invalid_grant')
    assertCredentialedResponse(t, badGrant, APP_ORIGIN)
  })

  t.test('an unlisted origin gets no CORS header, and its cookie POSTs are still refused', async (t) => {
    const headers = { origin: FOREIGN_ORIGIN }
    const loggedIn = await login(app, user)
    const cookie = refreshCookieOf(loggedIn)?.value ?? ''

    const refreshed = await refreshWithCookie(app, cookie, headers)
    assertProblem(t, refreshed, 403, 'csrf_rejected')
    assertNoCors(t, refreshed)
    assertVaryOrigin(t, refreshed)

    const logout = await app.inject({
      method: 'POST', url: '/auth/logout', cookies: { refresh_token: cookie }, headers
    })
    assertProblem(t, logout, 403, 'csrf_rejected')
    assertNoCors(t, logout)

    const stillAlive = await refreshWithCookie(app, cookie, { origin: APP_ORIGIN })
    t.equal(stillAlive.statusCode, 200, 'the refused requests spent nothing: the cookie still refreshes')

    const wrongPassword = await login(
      app, { email: user.email, password: 'not the password at all' }, undefined, headers
    )
    assertProblem(t, wrongPassword, 401, 'invalid_credentials')
    assertNoCors(t, wrongPassword)
  })

  t.test('a request without Origin (a server, a same-origin page) gets no CORS header', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/auth/me' })
    assertProblem(t, response, 401, 'invalid_token')
    assertNoCors(t, response)
    assertVaryOrigin(t, response)
    const loggedIn = await login(app, user)
    t.equal(loggedIn.statusCode, 200)
    assertNoCors(t, loggedIn)
  })
})

t.test('preflights are not rate-limited and never reach a handler; ' +
  '429s carry CORS and expose Retry-After', async (t) => {
  const app = await buildTestApp(t, {
    ALLOWED_ORIGINS, RATE_LIMIT_ENABLED: true, RATE_LIMIT_LOGIN_MAX: 2, RATE_LIMIT_TOKEN_MAX: 1
  })
  const user = await registerUser(app)

  for (let i = 0; i < 10; i++) {
    const response = await preflight(app, '/auth/login', 'POST', APP_ORIGIN)
    t.equal(response.statusCode, 204, `preflight ${i + 1} answers 204`)
    t.notOk('x-ratelimit-limit' in response.headers, 'no rate-limit headers: the login limit does not see preflights')
  }
  for (let i = 0; i < 2; i++) {
    const response = await login(app, user, undefined, { origin: APP_ORIGIN })
    t.equal(response.statusCode, 200, `login ${i + 1} still within the limit after the preflights`)
  }
  const limited = await login(app, user, undefined, { origin: APP_ORIGIN })
  assertProblem(t, limited, 429, 'rate_limited')
  t.match(limited.headers['retry-after'], /^\d+$/, 'Retry-After is sent')
  assertCredentialedResponse(t, limited, APP_ORIGIN)

  await postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { origin: APP_ORIGIN })
  const limitedToken = await postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, {
    origin: APP_ORIGIN
  })
  t.equal(limitedToken.statusCode, 429)
  assertCredentialedResponse(t, limitedToken, APP_ORIGIN)

  const stillPreflights = await preflight(app, '/auth/login', 'POST', APP_ORIGIN)
  t.equal(stillPreflights.statusCode, 204, 'a rate-limited client can still preflight')
})
