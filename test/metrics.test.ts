import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { createServiceClient } from '../src/domain/clients/clients.js'
import { buildTestApp, postJson, STRONG_PASSWORD } from './helper.js'
import { basic, postForm } from './oauth/oauth-helpers.js'
import { loginForTokens, registerUser } from './support/auth-steps.js'

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
  t.equal(valueOf(after, 'http_requests_total', LIVE_OK) - valueOf(before, 'http_requests_total', LIVE_OK), 2)
  t.equal(valueOf(after, 'http_request_duration_seconds_count', LIVE_OK) - valueOf(before, 'http_request_duration_seconds_count', LIVE_OK), 2)
  t.ok(valueOf(after, 'http_request_duration_seconds_bucket', { ...LIVE_OK, le: '+Inf' }) >= 2, 'the histogram has buckets')
})

t.test('requests that match no route share one "unmatched" label, whatever their URL', async (t) => {
  const app = await buildTestApp(t)
  await app.inject('/no/such/path-1')
  await app.inject('/no/such/path-2?x=1')
  const response = await app.inject('/metrics')
  t.equal(valueOf(parseExposition(response.body), 'http_requests_total', { method: 'GET', route: 'unmatched', status_code: '404' }), 2)
  t.notMatch(response.body, /path-1|path-2/, 'raw URLs never become label values')
})

t.test('each route counts what it did: logins, refreshes, reuse, tokens by grant, rate-limit hits', async (t) => {
  // Driven through the routes, never through app.metrics, so a route that forgets to count fails here.
  const app = await buildTestApp(t, { RATE_LIMIT_ENABLED: true, RATE_LIMIT_LOGIN_MAX: 2, REFRESH_REUSE_GRACE_SECONDS: 0 })
  const user = await registerUser(app)
  const before = await scrape(app)
  const delta = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
    valueOf(samples, name, labels) - valueOf(before, name, labels)

  const login = await loginForTokens(app, user)
  const wrong = await postJson(app, '/auth/login', { email: user.email, password: 'not the password at all' })
  t.equal(wrong.statusCode, 401)
  const refreshed = await postJson(app, '/auth/refresh', { refreshToken: login.refreshToken })
  t.equal(refreshed.statusCode, 200)
  const oauthRefresh = await postForm(app, '/oauth/token', {
    grant_type: 'refresh_token', refresh_token: refreshed.json().refreshToken, client_id: 'first-party'
  })
  t.equal(oauthRefresh.statusCode, 200, oauthRefresh.body)
  const replay = await postJson(app, '/auth/refresh', { refreshToken: login.refreshToken })
  t.equal(replay.statusCode, 401)
  const client = await createServiceClient(app.db, { name: 'metrics-svc', scope: 'read' })
  const service = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' },
    basic(client.clientId, client.clientSecret))
  t.equal(service.statusCode, 200, service.body)
  const limited = await postJson(app, '/auth/login', { email: user.email, password: STRONG_PASSWORD })
  t.equal(limited.statusCode, 429, 'the third login from one address is over RATE_LIMIT_LOGIN_MAX=2')

  const after = await scrape(app)
  t.equal(delta(after, 'auth_logins_total', { result: 'ok' }), 1)
  t.equal(delta(after, 'auth_logins_total', { result: 'failed' }), 1)
  t.equal(delta(after, 'auth_refreshes_total', { result: 'ok' }), 2, '/auth/refresh and /oauth/token')
  t.equal(delta(after, 'auth_refreshes_total', { result: 'reused' }), 1)
  t.equal(delta(after, 'auth_refresh_reuse_detections_total'), 1)
  t.equal(delta(after, 'tokens_issued_total', { grant: 'password' }), 1)
  t.equal(delta(after, 'tokens_issued_total', { grant: 'refresh_token' }), 2)
  t.equal(delta(after, 'tokens_issued_total', { grant: 'client_credentials' }), 1)
  t.equal(delta(after, 'rate_limit_hits_total', { route: '/auth/login' }), 1)
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
  await postJson(first, '/auth/login', { email: user.email, password: 'not the password at all' })
  await first.inject('/health/live')
  await first.inject('/health/live')
  const [firstSamples, secondSamples] = [await scrape(first), await scrape(second)]
  t.equal(valueOf(firstSamples, 'auth_logins_total', { result: 'failed' }), 1)
  t.equal(valueOf(secondSamples, 'auth_logins_total', { result: 'failed' }), 0)
  t.equal(valueOf(firstSamples, 'http_requests_total', LIVE_OK), 2)
  t.equal(valueOf(secondSamples, 'http_requests_total', LIVE_OK), 0)
})
