import t from 'tap'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helper.js'
import { createTestClock } from '../support/test-clock.js'
import { postForm } from '../oauth/oauth-helpers.js'
import { login, loginForTokens, refreshWithBody, registerUser, tokensOf } from '../support/auth-steps.js'

const ISSUER = 'http://issuer.test'
const AUDIENCE = 'http://api.test'

async function verified (app: FastifyInstance, token: string): Promise<{ iat: number, exp: number }> {
  const published = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const jwks = createLocalJWKSet(published.json() as JSONWebKeySet)
  const { payload } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' })
  return { iat: payload.iat!, exp: payload.exp! }
}

t.test('no access token outlives its session\'s absolute end', async (t) => {
  t.test('at login: a session shorter than the access-token lifetime caps exp and expiresIn', async (t) => {
    // On a test clock that stands still, so a slow login cannot push exp past `before + 301`.
    const clock = createTestClock()
    const app = await buildTestApp(t, { ACCESS_TOKEN_TTL: 900, REFRESH_TOKEN_TTL: 300 }, { clock })
    const before = Math.floor(clock.now().getTime() / 1000)
    const response = await login(app, await registerUser(app), 'body')
    t.equal(response.statusCode, 200, response.body)
    const body = response.json()
    t.ok(body.expiresIn <= 300 && body.expiresIn >= 298, `expiresIn ${body.expiresIn} says the session's end`)
    const claims = await verified(app, body.accessToken)
    t.ok(claims.exp <= before + 301, `exp ${claims.exp} is at or before the session's end`)
    t.equal(claims.exp - claims.iat, body.expiresIn, 'expiresIn matches exp')
  })

  t.test('at every refresh, /auth/refresh and /oauth/token alike', async (t) => {
    // Sessions of 1000 s, refreshed when 100 s are left: on the app's clock, moved by the test.
    const clock = createTestClock()
    const app = await buildTestApp(t, { ACCESS_TOKEN_TTL: 900, REFRESH_TOKEN_TTL: 1000 }, { clock })
    const user = await registerUser(app)
    for (const via of ['auth', 'oauth'] as const) {
      const first = await loginForTokens(app, user)
      const end = new Date(clock.now().getTime() + 1000 * 1000)
      clock.advance(900)
      const response = via === 'auth'
        ? await refreshWithBody(app, first.refreshToken)
        : await postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: first.refreshToken })
      t.equal(response.statusCode, 200, `${via}: ${response.body.slice(0, 120)}`)
      const accessToken: string = via === 'auth'
        ? tokensOf(response, 'refresh').accessToken
        : response.json().access_token
      const expiresIn: number = via === 'auth' ? response.json().expiresIn : response.json().expires_in
      t.ok(expiresIn <= 100 && expiresIn >= 95, `${via}: expiresIn ${expiresIn} is the time left in the session`)
      const claims = await verified(app, accessToken)
      t.ok(claims.exp <= Math.floor(end.getTime() / 1000), `${via}: exp ${claims.exp} is not after the session's end`)
      t.equal(claims.exp - claims.iat, expiresIn, `${via}: expiresIn matches exp`)
    }
  })

  t.test('a long session keeps the full access-token lifetime', async (t) => {
    const app = await buildTestApp(t, { ACCESS_TOKEN_TTL: 900 })
    const first = await loginForTokens(app, await registerUser(app))
    const refreshed = await refreshWithBody(app, first.refreshToken)
    t.equal(refreshed.json().expiresIn, 900)
  })
})
