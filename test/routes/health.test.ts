import t from 'tap'
import { PGlite } from '@electric-sql/pglite'
import { buildApp } from '../../src/app.js'
import { wrapPGlite } from '../../src/db/connect.js'
import { assertProblem, buildTestApp, testConfig } from '../helper.js'

t.test('GET /health/live answers 200 while the process runs', async (t) => {
  const app = await buildTestApp(t)
  const response = await app.inject('/health/live')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'ok' })
})

t.test('GET /health/ready answers 200 when the database answers', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await app.inject('/health/ready')).statusCode, 200)
})

t.test('GET /health/ready answers 503 service_unavailable when PostgreSQL cannot be reached', async (t) => {
  // Nothing listens on port 9 of the loopback: every connection is refused at once.
  const app = await buildApp({ config: testConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none', DB_CONNECTION_TIMEOUT_MS: 500 }), logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  assertProblem(t, await app.inject('/health/ready'), 503, 'service_unavailable')
  t.equal((await app.inject('/health/live')).statusCode, 200, 'liveness does not depend on the database')
})

t.test('GET /health/ready answers 503 when the embedded database is closed', async (t) => {
  const pglite = await PGlite.create()
  const app = await buildApp({ config: testConfig(), database: wrapPGlite(pglite), logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  await pglite.close()
  const response = await app.inject('/health/ready')
  assertProblem(t, response, 503, 'service_unavailable')
  t.notMatch(response.body, /PGlite|closed|stack/i, 'no internals in the answer')
})
