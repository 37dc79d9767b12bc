import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { assertProblem, buildTestApp, openTestDatabase, postJson } from '../helper.js'
import { assertOAuthError, postForm } from '../oauth/oauth-helpers.js'
import { unspentTokenCount } from './session-helpers.js'
import {
  loginForTokens, loginWithCookie, REFRESH_COOKIE, refreshWithBody, registerUser, setCookies
} from '../support/auth-steps.js'

/**
 * What a refresh endpoint does with input that is not a plain, single refresh token: two cookies
 * (cookie tossing), a cross-site POST without Origin, and strings that are not ours at all.
 */
/** Two refresh_token cookies in one Cookie header, as a sibling subdomain can plant them. */
async function postWithCookieHeader (
  app: FastifyInstance,
  url: string,
  cookieHeader: string
): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url, headers: { cookie: cookieHeader } })
}

t.test('refresh input that is not one plain refresh token', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })

  t.test('two refresh cookies → 400 validation_failed, neither cleared nor spent', async (t) => {
    for (const url of ['/auth/refresh', '/auth/logout']) {
      const victim = await loginWithCookie(app, await registerUser(app))
      for (const header of [
        `${REFRESH_COOKIE}=${'A'.repeat(43)}; ${REFRESH_COOKIE}=${victim.cookie}`,
        `${REFRESH_COOKIE}=${victim.cookie}; ${REFRESH_COOKIE}=${'A'.repeat(43)}`,
        `${REFRESH_COOKIE}=${victim.cookie}; ${REFRESH_COOKIE}=${victim.cookie}`
      ]) {
        const response = await postWithCookieHeader(app, url, header)
        assertProblem(t, response, 400, 'validation_failed')
        t.same(setCookies(response), [], `${url}: no Set-Cookie at all`)
      }
      t.equal(await unspentTokenCount(database, victim.sessionId), 1, `${url}: the victim's token is unspent`)
      const ok = await postWithCookieHeader(app, '/auth/refresh', `${REFRESH_COOKIE}=${victim.cookie}`)
      t.equal(ok.statusCode, 200, `${url}: the victim's own cookie still refreshes`)
    }
  })

  t.test('a cookie POST without Origin but with Sec-Fetch-Site: cross-site → 403 csrf_rejected', async (t) => {
    const victim = await loginWithCookie(app, await registerUser(app))
    for (const url of ['/auth/refresh', '/auth/logout']) {
      const response = await app.inject({
        method: 'POST', url, cookies: { [REFRESH_COOKIE]: victim.cookie }, headers: { 'sec-fetch-site': 'cross-site' }
      })
      assertProblem(t, response, 403, 'csrf_rejected')
    }
    t.equal(await unspentTokenCount(database, victim.sessionId), 1, 'nothing was spent or revoked')
    for (const site of ['same-origin', 'none']) {
      const fresh = await loginWithCookie(app, await registerUser(app))
      const response = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        cookies: { [REFRESH_COOKIE]: fresh.cookie },
        headers: { 'sec-fetch-site': site }
      })
      t.equal(response.statusCode, 200, `Sec-Fetch-Site: ${site} is fine`)
    }
  })

  t.test('an access token or garbage as a refresh token → 401 invalid_refresh_token / invalid_grant', async (t) => {
    const user = await registerUser(app)
    const tokens = await loginForTokens(app, user)
    const junk = [tokens.accessToken, 'x'.repeat(600), 'x'.repeat(5000), 'A', '!!!not-base64!!!']
    for (const value of junk) {
      const label = `${value.slice(0, 12)}… (${value.length} chars)`
      assertProblem(t, await refreshWithBody(app, value), 401, 'invalid_refresh_token')
      const viaCookie = await app.inject({ method: 'POST', url: '/auth/refresh', cookies: { [REFRESH_COOKIE]: value } })
      assertProblem(t, viaCookie, 401, 'invalid_refresh_token')
      const logout = await postJson(app, '/auth/logout', { refreshToken: value })
      t.equal(logout.statusCode, 204, `logout with ${label}: not a 400, nothing to end`)
      const viaOAuth = await postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: value })
      assertOAuthError(t, viaOAuth, 400, 'invalid_grant')
      t.equal((await postForm(app, '/oauth/revoke', { token: value })).statusCode, 200, `/oauth/revoke with ${label}`)
    }
    t.equal(await unspentTokenCount(database, tokens.sessionId), 1, 'the real session is untouched')
    assertProblem(t, await postJson(app, '/auth/refresh', { refreshToken: 42 }), 400, 'validation_failed')
    const extra = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken, extra: 1 })
    assertProblem(t, extra, 400, 'validation_failed')
  })
})
