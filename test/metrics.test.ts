import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { createServiceClient } from '../src/domain/clients/clients.js'
import { buildTestApp, STRONG_PASSWORD, uniqueEmail } from './helper.js'
import { basic, postForm } from './oauth/oauth-helpers.js'
import { login, loginForTokens, refreshWithBody, registerUser, tokensOf } from './support/auth-steps.js'
import { createTestClock } from './support/test-clock.js'
import { FIRST_PARTY_CLIENT_ID } from './tokens/token-fixtures.js'

interface Sample { name: string, labels: Record<string, string>, value: number }

/** The samples of a Prometheus text exposition (comments skipped). */
function parseExposition (text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) continue
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return samples
}

async function scrape (app: FastifyInstance): Promise<Sample[]> {
  const response = await app.inject('/metrics')
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`)
  return parseExposition(response.body)
}

/** The value of the one sample with this name and (at least) these labels; 0 when absent. */
function valueOf (samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`)
  return found[0]?.value ?? 0
}

const LIVE_OK = { method: 'GET', route: '/health/live', status_code: '200' }

t.test('GET /metrics answers the Prometheus text format, never cached', async (t) => {
  const app = await buildTestApp(t)
  const response = await app.inject('/metrics')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.equal(response.headers['cache-control'], 'no-store')
  t.match(response.body, /^# HELP /m)
  t.match(response.body, /^# TYPE http_requests_total counter$/m)
})

t.test('requests are counted and timed by method, route pattern and status code', async (t) => {
  const app = await buildTestApp(t)
  const before = await scrape(app)
  await app.inject('/health/live')
  await app.inject('/health/live')
  const after = await scrape(app)
  const moved = (name: string): number => valueOf(after, name, LIVE_OK) - valueOf(before, name, LIVE_OK)
  t.equal(moved('http_requests_total'), 2)
  t.equal(moved('http_request_duration_seconds_count'), 2)
  const buckets = valueOf(after, 'http_request_duration_seconds_bucket', { ...LIVE_OK, le: '+Inf' })
  t.ok(buckets >= 2, 'the histogram has buckets')
})

t.test('requests that match no route share one "unmatched" label, whatever their URL', async (t) => {
  const app = await buildTestApp(t)
  await app.inject('/no/such/path-1')
  await app.inject('/no/such/path-2?x=1')
  const response = await app.inject('/metrics')
  const unmatched = { method: 'GET', route: 'unmatched', status_code: '404' }
  t.equal(valueOf(parseExposition(response.body), 'http_requests_total', unmatched), 2)
  t.notMatch(response.body, /path-1|path-2/, 'raw URLs never become label values')
})

/** Every domain series; each scenario below states its change in all of them (the rest must stay 0). */
const DOMAIN_SERIES = [
  'auth_logins_total{result="ok"}',
  'auth_logins_total{result="failed"}',
  ...['ok', 'grace', 'reused', 'invalid', 'expired'].map((result) => `auth_refreshes_total{result="${result}"}`),
  'auth_refresh_reuse_detections_total',
  ...['password', 'refresh_token', 'client_credentials'].map((grant) => `tokens_issued_total{grant="${grant}"}`),
  'rate_limit_hits_total{route="/auth/login"}'
] as const
type Series = typeof DOMAIN_SERIES[number]

function seriesValue (samples: Sample[], series: string): number {
  const [, name = '', label, value] = /^(\w+)(?:\{(\w+)="([^"]*)"\})?$/.exec(series) ?? []
  return valueOf(samples, name, label === undefined ? {} : { [label]: value! })
}

/** How much each domain series of GET /metrics moved while `act` ran. */
async function countedDuring (app: FastifyInstance, act: () => Promise<void>): Promise<Record<string, number>> {
  const before = await scrape(app)
  await act()
  const after = await scrape(app)
  return Object.fromEntries(DOMAIN_SERIES.map((series) =>
    [series, seriesValue(after, series) - seriesValue(before, series)]))
}

const only = (changed: Partial<Record<Series, number>>): Record<string, number> =>
  Object.fromEntries(DOMAIN_SERIES.map((series) => [series, changed[series] ?? 0]))

// Driven through the routes and read from GET /metrics only, never through app.metrics or the
// code that counts, so a route (or the service under it) that forgets to count, or counts twice,
// fails here.
t.test('each route counts what it did: logins, refreshes by outcome, reuse, tokens by grant', async (t) => {
  const clock = createTestClock()
  const IDLE = 3600
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 10, SESSION_IDLE_TTL: IDLE }, { clock })
  const user = await registerUser(app)
  const client = await createServiceClient(app.db, { name: 'metrics-svc', scope: 'read' })
  const unknownToken = randomBytes(32).toString('base64url')

  const expectStatus = (response: LightMyRequestResponse, status: number, what: string): void => {
    if (response.statusCode !== status) throw new Error(`${what}: ${response.statusCode} ${response.body}`)
  }
  const viaAuth = async (refreshToken: string, status: number): Promise<void> => {
    expectStatus(await refreshWithBody(app, refreshToken), status, 'POST /auth/refresh')
  }
  const viaOAuth = async (refreshToken: string, status: number): Promise<void> => {
    const params = { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: FIRST_PARTY_CLIENT_ID }
    expectStatus(await postForm(app, '/oauth/token', params), status, 'POST /oauth/token')
  }

  t.test('login', async (t) => {
    t.same(await countedDuring(app, async () => { await loginForTokens(app, user) }),
      only({ 'auth_logins_total{result="ok"}': 1, 'tokens_issued_total{grant="password"}': 1 }), 'body delivery')
    t.same(await countedDuring(app, async () => { expectStatus(await login(app, user), 200, 'cookie login') }),
      only({ 'auth_logins_total{result="ok"}': 1, 'tokens_issued_total{grant="password"}': 1 }), 'cookie delivery')
    t.same(await countedDuring(app, async () => {
      expectStatus(await login(app, { email: user.email, password: 'not the password at all' }), 401, 'wrong password')
      expectStatus(await login(app, { email: uniqueEmail('nobody'), password: STRONG_PASSWORD }), 401, 'unknown user')
    }), only({ 'auth_logins_total{result="failed"}': 2 }), 'a wrong password and an unknown email are failures')
  })

  for (const [route, refresh] of [['/auth/refresh', viaAuth], ['/oauth/token', viaOAuth]] as const) {
    t.test(`refresh on ${route}`, async (t) => {
      // RFC 6749 answers a refused grant with 400 invalid_grant; /auth/refresh with 401.
      const refused = route === '/oauth/token' ? 400 : 401
      const first = await loginForTokens(app, user)
      const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotation').refreshToken
      t.same(await countedDuring(app, async () => { await refresh(second, 200) }),
        only({ 'auth_refreshes_total{result="ok"}': 1, 'tokens_issued_total{grant="refresh_token"}': 1 }), 'ok')
      t.same(await countedDuring(app, async () => { await refresh(second, 200) }),
        only({ 'auth_refreshes_total{result="grace"}': 1, 'tokens_issued_total{grant="refresh_token"}': 1 }),
        'grace: the spent token again within REFRESH_REUSE_GRACE_SECONDS')
      clock.advance(11)
      t.same(await countedDuring(app, async () => { await refresh(first.refreshToken, refused) }),
        only({ 'auth_refreshes_total{result="reused"}': 1, auth_refresh_reuse_detections_total: 1 }),
        'reused: a spent token after the grace window')
      t.same(await countedDuring(app, async () => { await refresh(unknownToken, refused) }),
        only({ 'auth_refreshes_total{result="invalid"}': 1 }), 'invalid: a token that was never issued')
      const idle = await loginForTokens(app, user)
      clock.advance(IDLE + 1)
      t.same(await countedDuring(app, async () => { await refresh(idle.refreshToken, refused) }),
        only({ 'auth_refreshes_total{result="expired"}': 1 }), 'expired: a session idle past SESSION_IDLE_TTL')
    })
  }

  t.test('client_credentials on /oauth/token', async (t) => {
    t.same(await countedDuring(app, async () => {
      const params = { grant_type: 'client_credentials' }
      const response = await postForm(app, '/oauth/token', params, basic(client.clientId, client.clientSecret))
      expectStatus(response, 200, 'client_credentials grant')
    }), only({ 'tokens_issued_total{grant="client_credentials"}': 1 }))
  })
})

t.test('a login refused by the rate limit is counted under its route, and not as a login', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_ENABLED: true, RATE_LIMIT_LOGIN_MAX: 2 })
  const user = await registerUser(app)
  t.same(await countedDuring(app, async () => {
    t.equal((await login(app, user, 'body')).statusCode, 200)
    t.equal((await login(app, { email: user.email, password: 'not the password at all' })).statusCode, 401)
    t.equal((await login(app, user, 'body')).statusCode, 429, 'the third login from one address is over the limit of 2')
  }), only({
    'auth_logins_total{result="ok"}': 1,
    'auth_logins_total{result="failed"}': 1,
    'tokens_issued_total{grant="password"}': 1,
    'rate_limit_hits_total{route="/auth/login"}': 1
  }))
})

t.test('the database pool gauges and the process metrics are exposed', async (t) => {
  const app = await buildTestApp(t)
  const samples = await scrape(app)
  const stats = app.database.poolStats()
  for (const state of ['total', 'idle', 'waiting'] as const) {
    t.equal(valueOf(samples, 'db_pool_connections', { state }), stats[state], `pool ${state}`)
  }
  t.ok(samples.some((s) => s.name === 'process_cpu_user_seconds_total'), 'process CPU')
  t.ok(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes'), 'heap')
})

t.test('two apps in one process keep separate counters', async (t) => {
  const first = await buildTestApp(t)
  const second = await buildTestApp(t)
  const user = await registerUser(first)
  await login(first, { email: user.email, password: 'not the password at all' })
  await first.inject('/health/live')
  await first.inject('/health/live')
  const [firstSamples, secondSamples] = [await scrape(first), await scrape(second)]
  t.equal(valueOf(firstSamples, 'auth_logins_total', { result: 'failed' }), 1)
  t.equal(valueOf(secondSamples, 'auth_logins_total', { result: 'failed' }), 0)
  t.equal(valueOf(firstSamples, 'http_requests_total', LIVE_OK), 2)
  t.equal(valueOf(secondSamples, 'http_requests_total', LIVE_OK), 0)
})

t.test('the latency histogram puts each duration in the first bucket whose bound it does not exceed', async (t) => {
  const { Registry } = await import('prom-client')
  const { HttpRequestMetrics } = await import('../src/plugins/http-request-metrics.js')
  const register = new Registry()
  const metrics = new HttpRequestMetrics()
  metrics.registerWith(register)
  for (const seconds of [0.005, 0.0051, 0.3, 11]) metrics.record('GET', '/x', 200, seconds)
  metrics.record('POST', '/x', 400, 0.001)
  const samples = parseExposition(await register.metrics())
  const labels = { method: 'GET', route: '/x', status_code: '200' }
  const bucket = (le: string): number => valueOf(samples, 'http_request_duration_seconds_bucket', { ...labels, le })
  t.equal(bucket('0.005'), 1, 'exactly on a bound counts in that bucket (le is "less or equal")')
  t.equal(bucket('0.01'), 2, 'buckets are cumulative')
  t.equal(bucket('0.25'), 2)
  t.equal(bucket('0.5'), 3)
  t.equal(bucket('10'), 3, 'beyond the last bound only +Inf counts it')
  t.equal(bucket('+Inf'), 4)
  t.equal(valueOf(samples, 'http_request_duration_seconds_count', labels), 4)
  t.equal(valueOf(samples, 'http_request_duration_seconds_sum', labels), 0.005 + 0.0051 + 0.3 + 11)
  t.equal(valueOf(samples, 'http_requests_total', labels), 4)
  t.equal(valueOf(samples, 'http_requests_total', { method: 'POST', route: '/x', status_code: '400' }), 1,
    'each (method, route, status) is its own series')
  t.match(await register.metrics(), /^# TYPE http_request_duration_seconds histogram$/m)
})
