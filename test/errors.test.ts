import t from 'tap'
import { buildApp } from '../src/app.js'
import { assertProblem, openTestDatabase, testConfig } from './helper.js'

t.test('an unknown route answers 404 problem+json', async (t) => {
  const app = await buildApp({ config: testConfig(), database: await openTestDatabase(t), logger: false })
  t.teardown(async () => { await app.close() })
  assertProblem(t, await app.inject('/nope?secret=1'), 404, 'not_found')
})

t.test('an unexpected error answers a bare 500 without internals, and is logged', async (t) => {
  const logged: string[] = []
  const app = await buildApp({
    config: testConfig(),
    database: await openTestDatabase(t),
    logger: { level: 'error', stream: { write: (line: string) => { logged.push(line) } } }
  })
  t.teardown(async () => { await app.close() })
  app.get('/boom', async () => { throw new Error('SELECT secret FROM users -- internal detail') })
  const response = await app.inject('/boom')
  assertProblem(t, response, 500, 'internal_error')
  t.notMatch(response.body, /SELECT|internal detail|at .*\.ts/, 'no SQL or stack trace')
  t.match(logged.join(''), /internal detail/, 'the detail is in the log for the operator')
})

t.test('every answer carries API security headers and a request id', async (t) => {
  const app = await buildApp({ config: testConfig(), database: await openTestDatabase(t), logger: false })
  t.teardown(async () => { await app.close() })
  const response = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'trace-123' } })
  t.equal(response.headers['x-content-type-options'], 'nosniff')
  t.equal(response.headers['x-frame-options'], 'DENY')
  t.equal(response.headers['x-request-id'], 'trace-123', 'a well-formed incoming id is kept')
  const hostile = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'bad id\u0000<script>' } })
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a malformed id is replaced')
})
