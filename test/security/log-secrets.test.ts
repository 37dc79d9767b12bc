import t from 'tap'
import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildApp, loggerOptions } from '../../src/app.js'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { openTestDatabase, postJson, testConfig, uniqueEmail } from '../helper.js'
import { bearer, login, refreshWithBody } from '../support/auth-steps.js'

/*
 * No secret ever reaches the logs: with the logger at its most verbose
 * (trace), a full flow — register, login in both delivery modes, refresh by cookie and by body,
 * bearer calls, password change, logout, client_credentials with HTTP Basic and with a body
 * secret, introspection, a failed login, malformed and failing requests, and a token wrongly put in
 * a query string — must leave no password, access token, refresh token, cookie value or client
 * secret in any log line.
 *
 * The logger is the product's own (`loggerOptions` from src/app.ts, what buildApp uses by default:
 * secret-named keys censored and a request serializer); only its destination is swapped for an array.
 */

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>

interface Secret { kind: string, value: string }

t.test('no secret reaches the logs, even at trace level', async (t) => {
  const lines: string[] = []
  const config = testConfig({ LOG_LEVEL: 'trace', RATE_LIMIT_ENABLED: false })
  const logger = {
    ...(loggerOptions(config.LOG_LEVEL) as LoggerOptions),
    level: 'trace',
    stream: { write: (line: string) => { lines.push(line) } }
  } as LoggerOptions
  const database = await openTestDatabase(t)
  const app: FastifyInstance = await buildApp({ config, database, logger })
  t.teardown(async () => { await app.close() })
  await app.ready()

  const secrets: Secret[] = []
  const keep = (kind: string, value: unknown): string => {
    if (typeof value !== 'string' || value.length < 8) throw new Error(`expected a ${kind}, got ${String(value)}`)
    secrets.push({ kind, value })
    // A JWT's signature alone is as good as a leak of the whole token.
    const signature = value.split('.')[2]
    if (signature !== undefined && signature.length >= 16) {
      secrets.push({ kind: `${kind} (signature part)`, value: signature })
    }
    return value
  }
  const cookieOf = (response: LightMyRequestResponse): string => {
    const cookie = response.cookies.find((c) => c.name === 'refresh_token')
    if (cookie === undefined) throw new Error(`no refresh_token cookie: ${response.statusCode} ${response.body}`)
    return keep('refresh token (cookie value)', cookie.value)
  }
  const ok = (response: LightMyRequestResponse, status: number, what: string): LightMyRequestResponse => {
    if (response.statusCode !== status) {
      throw new Error(`${what}: expected ${status}, got ${response.statusCode} ${response.body}`)
    }
    return response
  }

  // --- the flow -------------------------------------------------------------------------------
  const email = uniqueEmail('logs')
  const password = keep('password', 'log-test password one 81')
  const newPassword = keep('new password', 'log-test password two 92')
  const wrongPassword = keep('wrong password tried', 'log-test wrong guess 73')
  const failingPassword = keep('password of a request that fails with 500 or 400', 'log-test password three 64')

  ok(await postJson(app, '/auth/register', { email, password }), 201, 'register')

  const cookieLogin = ok(await login(app, { email, password }), 200, 'login (cookie)')
  keep('access token', cookieLogin.json().accessToken)
  const firstCookie = cookieOf(cookieLogin)

  const bodyLogin = ok(await login(app, { email, password }, 'body'), 200, 'login (body)')
  keep('access token', bodyLogin.json().accessToken)
  const bodyRefreshToken = keep('refresh token', bodyLogin.json().refreshToken)

  const cookieRefresh = ok(await app.inject({
    method: 'POST', url: '/auth/refresh', headers: { cookie: `refresh_token=${firstCookie}`, origin: config.ISSUER }
  }), 200, 'refresh (cookie)')
  keep('access token', cookieRefresh.json().accessToken)
  cookieOf(cookieRefresh)

  const bodyRefresh = ok(await refreshWithBody(app, bodyRefreshToken), 200, 'refresh (body)')
  const accessToken = keep('access token', bodyRefresh.json().accessToken)
  const latestRefreshToken = keep('refresh token', bodyRefresh.json().refreshToken)
  const authorized = bearer(accessToken)

  ok(await app.inject({ method: 'GET', url: '/auth/me', headers: authorized }), 200, '/auth/me')
  ok(await app.inject({ method: 'GET', url: '/auth/sessions', headers: authorized }), 200, '/auth/sessions')
  ok(
    await postJson(app, '/auth/password', { currentPassword: password, newPassword }, authorized),
    204, 'password change'
  )
  ok(await postJson(app, '/auth/logout', { refreshToken: latestRefreshToken }), 204, 'logout')

  const client = await createServiceClient(app.db, { name: 'log-test', scope: 'read' })
  keep('client secret', client.clientSecret)
  const basic = keep(
    'HTTP Basic credentials', Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')
  )
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const basicToken = ok(await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: 'grant_type=client_credentials',
    headers: { ...form, authorization: `Basic ${basic}` }
  }), 200, 'client_credentials (Basic)')
  const clientToken = keep('access token (client_credentials)', basicToken.json().access_token)
  const bodyToken = ok(await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: new URLSearchParams({
      grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret
    }).toString(),
    headers: form
  }), 200, 'client_credentials (body)')
  keep('access token (client_credentials)', bodyToken.json().access_token)
  ok(await app.inject({
    method: 'POST',
    url: '/oauth/introspect',
    payload: new URLSearchParams({ token: clientToken }).toString(),
    headers: { ...form, authorization: `Basic ${basic}` }
  }), 200, 'introspection')
  ok(await app.inject({
    method: 'POST',
    url: '/oauth/revoke',
    payload: new URLSearchParams({ token: latestRefreshToken }).toString(),
    headers: form
  }), 200, 'revocation')

  // Failures: a wrong password, malformed JSON around a password, an unexpected 5xx path.
  ok(await postJson(app, '/auth/login', { email, password: wrongPassword }), 401, 'failed login')
  await app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: `{"email":"${email}","password":"${failingPassword}"`,
    headers: { 'content-type': 'application/json' }
  })
  await postJson(app, '/auth/login', { email: 'nul\u0000@example.com', password: failingPassword })
  await postJson(app, '/auth/refresh', { refreshToken: bodyRefreshToken }, { cookie: `refresh_token=${firstCookie}` })

  // Tokens where they must never be sent: the service refuses them, but must not log them either.
  const queryToken = keep('access token (sent in a query string)', bodyToken.json().access_token)
  ok(await app.inject({ method: 'GET', url: `/no-such-route?access_token=${queryToken}` }), 404, 'unknown route')
  ok(
    await app.inject({ method: 'GET', url: `/auth/me?access_token=${queryToken}` }),
    401, '/auth/me with a query token'
  )
  await app.inject({
    method: 'POST',
    url: `/oauth/token?client_secret=${client.clientSecret}&refresh_token=${latestRefreshToken}`,
    payload: 'grant_type=client_credentials',
    headers: form
  })

  // --- the verdict ------------------------------------------------------------------------------
  t.ok(lines.length > 20, `the logger captured ${lines.length} lines`)
  t.ok(lines.some((line) => /incoming request/.test(line)), 'requests are logged (the test is not vacuous)')

  const byKind = new Map<string, Secret[]>()
  for (const secret of secrets) byKind.set(secret.kind, [...(byKind.get(secret.kind) ?? []), secret])
  for (const [kind, group] of byKind) {
    t.test(`no log line contains a ${kind}`, async (t) => assertAbsent(t, lines, group))
  }
})

function assertAbsent (t: Test, lines: string[], secrets: Secret[]): void {
  const leaks: string[] = []
  for (const line of lines) {
    const found = secrets.filter((secret) => line.includes(secret.value))
    if (found.length === 0) continue
    let shown = line.trim()
    for (const secret of found) shown = shown.split(secret.value).join(`<${secret.kind.toUpperCase()}>`)
    leaks.push(shown.slice(0, 600))
  }
  t.same(leaks, [], leaks.length === 0 ? 'absent' : `${leaks.length} log line(s) leak it`)
}
