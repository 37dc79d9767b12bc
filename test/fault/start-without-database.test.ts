import t from 'tap'
import { buildApp } from '../../src/app.js'
import { connectDatabase } from '../../src/db/connect.js'
import { testConfig } from '../helper.js'

// Kept apart from other tests: it needs no database at all.
t.test('the app refuses to start when PostgreSQL cannot be reached (fail closed; the orchestrator ' +
  'restarts it)', async (t) => {
  // Nothing listens on port 9 of the loopback: every connection is refused at once.
  const config = testConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none', DB_CONNECTION_TIMEOUT_MS: 500 })
  const database = await connectDatabase(config, () => {})
  t.teardown(async () => { await database.close() })
  const app = buildApp({ config, database, logger: false })
  await t.rejects(async () => { await app.ready() }, { code: 'ECONNREFUSED' })
})
