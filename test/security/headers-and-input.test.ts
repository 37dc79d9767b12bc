import { randomInt } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { assertProblem, buildTestApp, openTestDatabase, postJson, STRONG_PASSWORD, uniqueEmail } from '../helper.js'
import { bearer as authorizedBy, login, registerUser } from '../support/auth-steps.js'

/*
 * Response headers and abuse controls:
 *   - token responses carry Cache-Control: no-store; every response carries X-Content-Type-Options: nosniff;
 *   - an access token in the query string is refused, even next to a valid Authorization header;
 *   - per-IP rate limits on register, login, refresh and /oauth/token, keyed on the socket address
 *     unless TRUST_PROXY says to believe X-Forwarded-For, shared across instances through Redis,
 *     and counted in /metrics.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const form = { 'content-type': 'application/x-www-form-urlencoded' }

const randomIp = (): string => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`

async function loginAttempt (
  app: FastifyInstance, headers: Record<string, string> = {}, extra: Partial<InjectOptions> = {}
): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: JSON.stringify({ email: uniqueEmail('rl'), password: 'not the password 1' }),
    headers: { 'content-type': 'application/json', ...headers },
    ...extra
  })
}

function assertRateLimited (t: Test, response: LightMyRequestResponse, label: string): void {
  assertProblem(t, response, 429, 'rate_limited')
  const retryAfter = Number(response.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
    `${label}: Retry-After is a number of seconds within the window (${String(response.headers['retry-after'])})`)
  t.equal(response.headers['x-content-type-options'], 'nosniff', `${label}: nosniff on the 429 too`)
}

function assertNotRateLimited (t: Test, response: LightMyRequestResponse, label: string): void {
  t.not(response.statusCode, 429, `${label}: not rate limited (${response.statusCode})`)
  t.ok(response.statusCode < 500, `${label}: no 5xx`)
}

async function rateLimitHits (app: FastifyInstance): Promise<number> {
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  return metrics.body.split('\n')
    .filter((line) => line.startsWith('rate_limit_hits_total{') || line.startsWith('rate_limit_hits_total '))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0)
}

t.test('token responses are never cached', async (t) => {
  const app = await buildTestApp(t)
  const user = await registerUser(app)
  const noStore = (t: Test, response: LightMyRequestResponse, label: string): void => {
    t.equal(response.statusCode, 200, `${label}: 200 (${response.body.slice(0, 120)})`)
    t.match(response.headers['cache-control'], /\bno-store\b/, `${label}: Cache-Control: no-store`)
  }

  const cookieLogin = await login(app, user)
  noStore(t, cookieLogin, 'POST /auth/login (cookie delivery)')
  const bodyLogin = await login(app, user, 'body')
  noStore(t, bodyLogin, 'POST /auth/login (body delivery)')
  const cookie = cookieLogin.cookies.find((c) => c.name === 'refresh_token')!.value
  const cookieRefresh = await app.inject({
    method: 'POST', url: '/auth/refresh', headers: { cookie: `refresh_token=${cookie}` }
  })
  noStore(t, cookieRefresh, 'POST /auth/refresh (cookie)')
  const refreshed = await postJson(app, '/auth/refresh', { refreshToken: bodyLogin.json().refreshToken })
  noStore(t, refreshed, 'POST /auth/refresh (body)')
  const refreshForm = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshed.json().refreshToken })
  const oauthRefresh = await app.inject({
    method: 'POST', url: '/oauth/token', payload: refreshForm.toString(), headers: form
  })
  noStore(t, oauthRefresh, 'POST /oauth/token (refresh_token)')
  const client = await createServiceClient(app.db, {})
  const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`
  const clientCredentials = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: 'grant_type=client_credentials',
    headers: { ...form, authorization: basic }
  })
  noStore(t, clientCredentials, 'POST /oauth/token (client_credentials)')
})

t.test('every response carries X-Content-Type-Options: nosniff', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_ENABLED: true, RATE_LIMIT_LOGIN_MAX: 1 })
  const user = await registerUser(app)
  const loggedIn = await login(app, user, 'body', { 'x-forwarded-for': '203.0.113.1' })
  const { accessToken, refreshToken } = loggedIn.json()
  const bearer = authorizedBy(String(accessToken))
  const jwks = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })

  const requests: Array<[string, InjectOptions]> = [
    ['201 register', {
      method: 'POST', url: '/auth/register', payload: { email: uniqueEmail(), password: STRONG_PASSWORD }
    }],
    ['200 refresh', { method: 'POST', url: '/auth/refresh', payload: { refreshToken } }],
    ['200 /auth/me', { method: 'GET', url: '/auth/me', headers: bearer }],
    ['200 /auth/sessions', { method: 'GET', url: '/auth/sessions', headers: bearer }],
    ['200 JWKS', { method: 'GET', url: '/.well-known/jwks.json' }],
    ['304 JWKS', {
      method: 'GET', url: '/.well-known/jwks.json', headers: { 'if-none-match': String(jwks.headers.etag) }
    }],
    ['200 discovery', { method: 'GET', url: '/.well-known/openid-configuration' }],
    ['200 /health/live', { method: 'GET', url: '/health/live' }],
    ['200 /health/ready', { method: 'GET', url: '/health/ready' }],
    ['200 /metrics', { method: 'GET', url: '/metrics' }],
    ['/docs', { method: 'GET', url: '/docs' }],
    ['200 /docs/json', { method: 'GET', url: '/docs/json' }],
    ['HEAD /health/live', { method: 'HEAD', url: '/health/live' }],
    ['OPTIONS /auth/login', { method: 'OPTIONS', url: '/auth/login' }],
    ['400 validation', { method: 'POST', url: '/auth/register', payload: { email: 'x' } }],
    ['400 malformed JSON', {
      method: 'POST', url: '/auth/register', payload: '{', headers: { 'content-type': 'application/json' }
    }],
    ['401 invalid_token', { method: 'GET', url: '/auth/me' }],
    ['401 invalid_credentials', {
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: 'wrong password 1' },
      remoteAddress: '203.0.113.2'
    }],
    ['403 csrf_rejected', {
      method: 'POST', url: '/auth/refresh', headers: { cookie: 'refresh_token=abc', origin: 'https://evil.test' }
    }],
    ['404 unknown route', { method: 'GET', url: '/nope' }],
    ['404 session', { method: 'DELETE', url: '/auth/sessions/00000000-0000-0000-0000-000000000000', headers: bearer }],
    ['409 email_taken', {
      method: 'POST', url: '/auth/register', payload: { email: user.email, password: STRONG_PASSWORD }
    }],
    ['413 payload_too_large', {
      method: 'POST', url: '/auth/register', payload: { email: 'a@b.co', password: 'x'.repeat(17 * 1024) }
    }],
    ['415 unsupported_media_type', {
      method: 'POST', url: '/auth/register', payload: 'x', headers: { 'content-type': 'text/plain' }
    }],
    ['429 rate_limited', {
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: 'wrong password 2' },
      remoteAddress: '203.0.113.2'
    }],
    ['400 OAuth invalid_request', { method: 'POST', url: '/oauth/token', payload: '', headers: form }],
    ['401 OAuth invalid_client', { method: 'POST', url: '/oauth/introspect', payload: 'token=x', headers: form }],
    ['200 OAuth revoke', { method: 'POST', url: '/oauth/revoke', payload: 'token=x', headers: form }],
    ['400 malformed percent-encoding in the path (FST_ERR_BAD_URL)', { method: 'GET', url: '/auth/sessions/%E0%A4%A' }],
    ['414 over-long path parameter (FST_ERR_MAX_PARAM_LENGTH)', {
      method: 'DELETE', url: `/auth/sessions/${'x'.repeat(200)}`, headers: bearer
    }]
  ]
  for (const [label, options] of requests) {
    const response = await app.inject(options)
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${label} (${response.statusCode}) carries nosniff`)
  }
})

t.test('an access token in the query string is refused, even next to a valid Authorization header', async (t) => {
  // src/plugins/access-token-guard.ts checks the query before the header: any `access_token`
  // parameter is an invalid_token, so a token that leaked into a URL never authenticates anything.
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })
  const user = await registerUser(app)
  const loggedIn = (await login(app, user, 'body')).json()
  const token = String(loggedIn.accessToken)
  const bearer = authorizedBy(token)

  t.equal((await app.inject({ method: 'GET', url: '/auth/me', headers: bearer })).statusCode, 200,
    'control: the header alone is accepted')

  const cases: Array<[string, InjectOptions]> = [
    ['GET /auth/me?access_token=<valid>, no header', { method: 'GET', url: `/auth/me?access_token=${token}` }],
    ['GET /auth/me?access_token=<valid> + valid header', {
      method: 'GET', url: `/auth/me?access_token=${token}`, headers: bearer
    }],
    ['GET /auth/me?access_token=garbage + valid header', {
      method: 'GET', url: '/auth/me?access_token=garbage', headers: bearer
    }],
    ['GET /auth/me?access_token= (empty) + valid header', {
      method: 'GET', url: '/auth/me?access_token=', headers: bearer
    }],
    ['GET /auth/me?x=1&access_token=<valid> + valid header', {
      method: 'GET', url: `/auth/me?x=1&access_token=${token}`, headers: bearer
    }],
    ['GET /auth/sessions?access_token=<valid>, no header', {
      method: 'GET', url: `/auth/sessions?access_token=${token}`
    }],
    ['GET /auth/sessions?access_token=<valid> + valid header', {
      method: 'GET', url: `/auth/sessions?access_token=${token}`, headers: bearer
    }],
    ['POST /auth/logout-all?access_token=<valid> + valid header', {
      method: 'POST', url: `/auth/logout-all?access_token=${token}`, headers: bearer
    }],
    ['DELETE /auth/sessions/<own>?access_token=<valid> + valid header', {
      method: 'DELETE', url: `/auth/sessions/${String(loggedIn.sessionId)}?access_token=${token}`, headers: bearer
    }],
    ['POST /auth/password?access_token=<valid> + valid header', {
      method: 'POST',
      url: `/auth/password?access_token=${token}`,
      payload: { currentPassword: user.password, newPassword: 'another strong passphrase 7' },
      headers: bearer
    }]
  ]
  for (const [label, options] of cases) {
    t.test(label, async (t) => {
      const response = await app.inject(options)
      assertProblem(t, response, 401, 'invalid_token')
      t.match(response.headers['www-authenticate'], /^Bearer error="invalid_token"/)
      t.notOk(response.body.includes(token), 'the token is not echoed')
    })
  }

  t.test('none of the refused requests had an effect', async (t) => {
    const session = await database.db.selectFrom('sessions').select('revoked_at')
      .where('id', '=', loggedIn.sessionId).executeTakeFirstOrThrow()
    t.equal(session.revoked_at, null, 'the session was neither revoked by logout-all nor by DELETE')
    t.equal((await login(app, user)).statusCode, 200, 'the password did not change')
    t.equal((await app.inject({ method: 'GET', url: '/auth/me', headers: bearer })).statusCode, 200,
      'the token still works in the header')
  })
})

t.test('per-IP rate limits', async (t) => {
  const limits = {
    RATE_LIMIT_ENABLED: true,
    RATE_LIMIT_LOGIN_MAX: 3,
    RATE_LIMIT_REGISTER_MAX: 3,
    RATE_LIMIT_REFRESH_MAX: 3,
    RATE_LIMIT_TOKEN_MAX: 3
  }
  const database = await openTestDatabase(t)

  t.test('TRUST_PROXY unset: X-Forwarded-For is ignored, ' +
    'the 4th login from one socket is 429 whatever it claims', async (t) => {
    const app = await buildTestApp(t, limits, { database })
    const hitsBefore = await rateLimitHits(app)
    for (const [index, spoofed] of ['198.51.100.1', '198.51.100.2', '198.51.100.3'].entries()) {
      assertNotRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': spoofed }),
        `attempt ${index + 1} (X-Forwarded-For: ${spoofed})`)
    }
    assertRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.4' }),
      'attempt 4 with a fresh spoofed X-Forwarded-For')
    assertRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.5, 198.51.100.6' }),
      'attempt 5 with a spoofed chain')
    assertRateLimited(t, await loginAttempt(app, { 'x-real-ip': '198.51.100.7', forwarded: 'for=198.51.100.7' }),
      'attempt 6 with X-Real-IP and Forwarded')
    assertNotRateLimited(t, await loginAttempt(app, {}, { remoteAddress: '192.0.2.50' }),
      'another socket address has its own budget')
    t.equal(await rateLimitHits(app), hitsBefore + 3, 'rate_limit_hits_total counted the three refusals')
    t.match((await app.inject({ method: 'GET', url: '/metrics' })).body,
      /rate_limit_hits_total\{route="\/auth\/login"\} 3/, 'labelled by route pattern')
  })

  t.test('TRUST_PROXY=true: each forwarded client address has its own budget', async (t) => {
    const app = await buildTestApp(t, { ...limits, TRUST_PROXY: 'true' }, { database })
    for (let i = 1; i <= 3; i++) {
      assertNotRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.10' }), `client A attempt ${i}`)
    }
    for (let i = 1; i <= 3; i++) {
      assertNotRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.11' }), `client B attempt ${i}`)
    }
    assertRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.10' }), 'client A attempt 4')
    assertRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.11' }), 'client B attempt 4')
    assertNotRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.12' }), 'client C attempt 1')
    assertNotRateLimited(t, await loginAttempt(app, { 'x-forwarded-for': '198.51.100.13, 203.0.113.9' }),
      'client D behind two proxies')
  })

  t.test('register, login, refresh and /oauth/token each have a per-IP limit', async (t) => {
    const app = await buildTestApp(t, limits, { database })
    const endpoints: Array<{ label: string, send: () => Promise<LightMyRequestResponse>, oauth?: true }> = [
      {
        label: 'POST /auth/register',
        send: async () => await postJson(app, '/auth/register', {
          email: uniqueEmail('rl-register'), password: STRONG_PASSWORD
        })
      },
      { label: 'POST /auth/login', send: async () => await loginAttempt(app) },
      {
        label: 'POST /auth/refresh',
        send: async () => await postJson(app, '/auth/refresh', { refreshToken: 'A'.repeat(43) })
      },
      {
        label: 'POST /oauth/token',
        send: async () => await app.inject({
          method: 'POST',
          url: '/oauth/token',
          payload: 'grant_type=client_credentials&client_id=nobody&client_secret=wrong',
          headers: form
        }),
        oauth: true
      }
    ]
    for (const endpoint of endpoints) {
      t.test(endpoint.label, async (t) => {
        for (let i = 1; i <= 3; i++) assertNotRateLimited(t, await endpoint.send(), `request ${i}`)
        const refused = await endpoint.send()
        if (endpoint.oauth === true) {
          t.equal(refused.statusCode, 429, `request 4 is 429 (${refused.body})`)
          t.match(refused.headers['content-type'], /^application\/json/, 'RFC 6749 JSON, not problem+json')
          t.match(refused.json(), { error: String, error_description: String }, '{error, error_description}')
          t.notOk('code' in refused.json() || 'type' in refused.json(), 'no problem+json members')
          t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After')
          t.match(refused.headers['cache-control'], /no-store/, 'never cached')
        } else {
          assertRateLimited(t, refused, 'request 4')
        }
      })
    }
  })

  t.test('with REDIS_URL two instances share one budget', async (t) => {
    const probe = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null
    })
    probe.on('error', () => {})
    let reachable = false
    try {
      await probe.connect()
      reachable = (await probe.ping()) === 'PONG'
    } catch {
      reachable = false
    } finally {
      probe.disconnect()
    }
    if (!reachable) {
      t.plan(0, `Redis does not answer at ${REDIS_URL}`)
      return
    }

    // Counters outlive the apps for the window: a random client address keeps runs apart.
    const config = { ...limits, REDIS_URL, TRUST_PROXY: 'true' }
    const a = await buildTestApp(t, config, { database })
    const b = await buildTestApp(t, config, { database })
    // While Redis is still connecting an instance counts in process: wait until both share Redis.
    for (const [name, app] of [['A', a], ['B', b]] as const) {
      let ready = false
      for (let i = 0; i < 40 && !ready; i++) {
        ready = app.rateLimitStore.mode() === 'redis'
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 50))
      }
      t.ok(ready, `instance ${name} counts in Redis`)
    }

    const client = randomIp()
    const hitsBefore = await rateLimitHits(b)
    for (let i = 1; i <= 3; i++) {
      assertNotRateLimited(t, await loginAttempt(a, { 'x-forwarded-for': client }), `attempt ${i} on instance A`)
    }
    assertRateLimited(t, await loginAttempt(b, { 'x-forwarded-for': client }), 'attempt 4 on instance B')
    assertRateLimited(t, await loginAttempt(a, { 'x-forwarded-for': client }), 'attempt 5 back on instance A')
    assertNotRateLimited(t, await loginAttempt(b, { 'x-forwarded-for': randomIp() }), 'another client on instance B')
    t.equal(await rateLimitHits(b), hitsBefore + 1, 'instance B counted its refusal in rate_limit_hits_total')
  })
})
