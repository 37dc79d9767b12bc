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

// A database that goes away while the service runs: see test/fault/database-outage.test.ts.
t.test('GET /health/ready answers 503 when the embedded database is closed', async (t) => {
  const pglite = await PGlite.create()
  const app = await buildApp({
    config: testConfig({ MIGRATE_ON_START: true }), database: wrapPGlite(pglite), logger: false
  })
  t.teardown(async () => { await app.close() })
  await app.ready()
  await pglite.close()
  const response = await app.inject('/health/ready')
  assertProblem(t, response, 503, 'service_unavailable')
  t.notMatch(response.body, /PGlite|closed|stack/i, 'no internals in the answer')
})
