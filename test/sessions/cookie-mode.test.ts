import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, buildTestApp, openTestDatabase } from '../helper.js'
import { sha256 } from './session-helpers.js'
import {
  login, me, REFRESH_COOKIE, refreshCookieOf, refreshWithBody, refreshWithCookie, registerUser,
  type SetCookie, setCookies
} from '../support/auth-steps.js'

const FOURTEEN_DAYS = 1_209_600

function assertRefreshCookie (t: Test, response: LightMyRequestResponse, secure = true): SetCookie {
  const cookie = refreshCookieOf(response)
  t.ok(cookie, 'a refresh_token cookie is set')
  if (cookie === undefined) throw new Error('no refresh_token cookie')
  t.match(cookie.value, /^[A-Za-z0-9_-]{43,}$/, 'its value is an opaque 256-bit token')
  t.equal(cookie.attributes.get('path'), '/auth', 'Path=/auth')
  t.ok(cookie.attributes.has('httponly'), 'HttpOnly')
  t.equal(cookie.attributes.get('samesite')?.toLowerCase(), 'strict', 'SameSite=Strict')
  t.equal(cookie.attributes.has('secure'), secure, secure ? 'Secure' : 'no Secure attribute')
  t.notOk(cookie.attributes.has('domain'), 'host-only: no Domain attribute')
  t.match(cookie.attributes.get('max-age'), /^\d+$/, 'a Max-Age')
  return cookie
}

const maxAgeOf = (cookie: SetCookie): number => Number(cookie.attributes.get('max-age'))

/** A Set-Cookie that deletes the cookie: Max-Age=0 or an Expires in the past. */
function isClearing (cookie: SetCookie): boolean {
  const maxAge = cookie.attributes.get('max-age')
  const expires = cookie.attributes.get('expires')
  return maxAge === '0' || (expires !== undefined && Date.parse(expires) < Date.now())
}

t.test('refresh tokens in an httpOnly cookie (delivery "cookie", the default)', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })
  const user = await registerUser(app)

  t.test('login without delivery sets the cookie and keeps the token out of the body', async (t) => {
    const response = await login(app, user)
    t.equal(response.statusCode, 200)
    t.equal(response.headers['cache-control'], 'no-store', 'Cache-Control: no-store')
    const body = response.json()
    t.notOk('refreshToken' in body, 'no refreshToken in the body')
    t.match(body, {
      accessToken: String, tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: FOURTEEN_DAYS, sessionId: String
    })
    const cookie = assertRefreshCookie(t, response)
    t.equal(maxAgeOf(cookie), FOURTEEN_DAYS, 'Max-Age = the refresh lifetime')
    const attributes = `Max-Age=${FOURTEEN_DAYS}; Path=/auth; HttpOnly; Secure; SameSite=Strict`
    const cookiePattern = new RegExp(`^${REFRESH_COOKIE}=[A-Za-z0-9_-]+; ${attributes}$`)
    t.match(cookie.raw, cookiePattern, 'exactly the documented attributes')
    t.equal(setCookies(response).length, 1, 'no other cookie')
    const row = await database.db.selectFrom('refresh_tokens').select('token_hash')
      .where('session_id', '=', body.sessionId).executeTakeFirstOrThrow()
    t.equal(row.token_hash, sha256(cookie.value), 'the cookie is the session\'s refresh token, stored hashed')
    t.notMatch(response.body, cookie.value, 'the token appears nowhere in the body')
  })

  t.test('a refresh with only the cookie (no body, no content type) rotates the cookie', async (t) => {
    const started = await login(app, user)
    const first = assertRefreshCookie(t, started)
    const response = await refreshWithCookie(app, first.value)
    t.equal(response.statusCode, 200, response.body)
    t.equal(response.headers['cache-control'], 'no-store', 'Cache-Control: no-store')
    t.notOk('refreshToken' in response.json(), 'still no refreshToken in the body')
    t.equal(response.json().sessionId, started.json().sessionId)
    const rotated = assertRefreshCookie(t, response)
    t.not(rotated.value, first.value, 'a new cookie value')
    t.ok(maxAgeOf(rotated) <= maxAgeOf(first), 'Max-Age never grows: rotation does not extend the session')
    t.ok(maxAgeOf(rotated) >= FOURTEEN_DAYS - 60, 'Max-Age is the remaining lifetime')
    t.equal((await me(app, response.json().accessToken)).statusCode, 200, 'the new access token works')
    t.equal((await refreshWithCookie(app, rotated.value)).statusCode, 200, 'the rotated cookie works')
  })

  t.test('a cookie-mode refresh is also accepted with an empty JSON object', async (t) => {
    const cookie = assertRefreshCookie(t, await login(app, user))
    const response = await app.inject({
      method: 'POST', url: '/auth/refresh', cookies: { [REFRESH_COOKIE]: cookie.value }, payload: {}
    })
    t.equal(response.statusCode, 200, response.body)
    assertRefreshCookie(t, response)
  })

  t.test('delivery "body" puts the token in the body, sets no cookie, and its refreshes stay body-mode', async (t) => {
    const response = await login(app, user, 'body')
    t.equal(response.statusCode, 200)
    t.equal(response.headers['cache-control'], 'no-store')
    t.match(response.json().refreshToken, /^[A-Za-z0-9_-]{43,}$/)
    t.same(setCookies(response), [], 'no Set-Cookie')
    let token: string = response.json().refreshToken
    for (let i = 1; i <= 3; i++) {
      const next = await refreshWithBody(app, token)
      t.equal(next.statusCode, 200)
      t.equal(next.headers['cache-control'], 'no-store')
      t.same(setCookies(next), [], `refresh ${i}: no Set-Cookie`)
      t.type(next.json().refreshToken, 'string', `refresh ${i}: the token is in the body`)
      t.not(next.json().refreshToken, token)
      token = next.json().refreshToken
    }
  })

  t.test('a cookie session refreshed with the token in the body keeps its cookie delivery', async (t) => {
    const cookie = assertRefreshCookie(t, await login(app, user))
    const response = await refreshWithBody(app, cookie.value)
    t.equal(response.statusCode, 200)
    t.notOk('refreshToken' in response.json(), 'the delivery mode of the login wins')
    assertRefreshCookie(t, response)
  })

  t.test('CSRF: a cookie refresh from a foreign Origin is 403 csrf_rejected and changes nothing', async (t) => {
    const cookie = assertRefreshCookie(t, await login(app, user))
    const hash = sha256(cookie.value)
    const before = await database.db.selectFrom('refresh_tokens').selectAll()
      .where('token_hash', '=', hash).executeTakeFirstOrThrow()

    const forged = await refreshWithCookie(app, cookie.value, { origin: 'https://evil.example' })
    assertProblem(t, forged, 403, 'csrf_rejected')
    t.equal(refreshCookieOf(forged), undefined, 'no cookie is set or cleared')
    const after = await database.db.selectFrom('refresh_tokens').selectAll()
      .where('token_hash', '=', hash).executeTakeFirstOrThrow()
    t.same(after, before, 'the token is untouched')

    const legit = await refreshWithCookie(app, cookie.value, { origin: 'http://issuer.test' })
    t.equal(legit.statusCode, 200, 'the old cookie still works from the allowed Origin')
    assertRefreshCookie(t, legit)
  })

  t.test('CSRF: "null" and look-alike origins are foreign too', async (t) => {
    const cookie = assertRefreshCookie(t, await login(app, user))
    const foreign = ['null', 'http://issuer.test.evil.example', 'https://issuer.test', 'http://issuer.test:8080']
    for (const origin of foreign) {
      assertProblem(t, await refreshWithCookie(app, cookie.value, { origin }), 403, 'csrf_rejected')
    }
    t.equal(
      (await refreshWithCookie(app, cookie.value)).statusCode,
      200,
      'without an Origin header (same-origin navigation, non-browser) it works'
    )
  })

  t.test('CSRF: a cookie logout from a foreign Origin is refused and the session lives on', async (t) => {
    const cookie = assertRefreshCookie(t, await login(app, user))
    const forged = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      cookies: { [REFRESH_COOKIE]: cookie.value },
      headers: { origin: 'https://evil.example' }
    })
    assertProblem(t, forged, 403, 'csrf_rejected')
    t.equal((await refreshWithCookie(app, cookie.value)).statusCode, 200)
  })

  t.test('logout with the cookie answers 204, clears the cookie, and the old cookie no longer refreshes', async (t) => {
    const started = await login(app, user)
    const cookie = assertRefreshCookie(t, started)
    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      cookies: { [REFRESH_COOKIE]: cookie.value },
      headers: { origin: 'http://issuer.test' }
    })
    t.equal(response.statusCode, 204)
    t.equal(response.body, '')
    const cleared = refreshCookieOf(response)
    t.ok(
      cleared !== undefined && isClearing(cleared),
      `the refresh_token cookie is cleared (${cleared?.raw ?? 'none'})`
    )
    t.equal(cleared?.value, '', 'with an empty value')
    t.equal(cleared?.attributes.get('path'), '/auth', 'on the same Path, or the browser would keep the old one')
    assertProblem(t, await refreshWithCookie(app, cookie.value), 401, 'invalid_refresh_token')
    assertProblem(t, await me(app, started.json().accessToken), 401, 'invalid_token')
  })

  t.test('a failed cookie refresh clears the dead cookie', async (t) => {
    const response = await refreshWithCookie(app, 'A'.repeat(43))
    assertProblem(t, response, 401, 'invalid_refresh_token')
    const cleared = refreshCookieOf(response)
    t.ok(cleared !== undefined && isClearing(cleared), 'the browser is told to drop it')
  })
})

t.test('with COOKIE_SECURE=false the cookie has no Secure attribute (local http)', async (t) => {
  const app = await buildTestApp(t, { COOKIE_SECURE: false })
  const user = await registerUser(app)
  const response = await login(app, user)
  const cookie = assertRefreshCookie(t, response, false)
  const refreshed = await refreshWithCookie(app, cookie.value)
  t.equal(refreshed.statusCode, 200)
  assertRefreshCookie(t, refreshed, false)
})

t.test('ALLOWED_ORIGINS replaces the issuer origin as the list of allowed cookie origins', async (t) => {
  const app = await buildTestApp(t, { ALLOWED_ORIGINS: 'https://app.example, https://admin.example' })
  const user = await registerUser(app)
  let cookie = assertRefreshCookie(t, await login(app, user))
  for (const origin of ['https://app.example', 'https://admin.example']) {
    const response = await refreshWithCookie(app, cookie.value, { origin })
    t.equal(response.statusCode, 200, `${origin} is allowed`)
    cookie = assertRefreshCookie(t, response)
  }
  assertProblem(t, await refreshWithCookie(app, cookie.value, { origin: 'http://issuer.test' }), 403, 'csrf_rejected')
  const login2 = await login(app, user, undefined, { origin: 'https://evil.example' })
  t.equal(login2.statusCode, 200, 'login is not cookie-authenticated: no Origin check there')
})
