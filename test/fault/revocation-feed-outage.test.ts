import t from 'tap'
import { buildApp } from '../../src/app.js'
import { assertProblem, testConfig } from '../helper.js'
import { listen, openStream } from '../revocations/sse-client.js'
import { startThrowawayPostgres } from '../support/throwaway-postgres.js'

/*
 * When the database goes away, an instance must not keep its streams looking healthy with
 * heartbeats: it ends them, refuses new ones and the snapshot with 503, and serves again by itself
 * once the database is back — so each verifier's own staleness policy decides.
 */

const STREAMS_END_WITHIN_MS = 9_000
const RECOVERY_WITHIN_MS = 20_000

t.test('a database outage ends the streams, answers 503, and heals by itself', async (t) => {
  const postgres = await startThrowawayPostgres(t)
  if (postgres === undefined) {
    t.plan(0, 'no PostgreSQL binaries on this machine')
    return
  }
  const config = testConfig({
    DATABASE_URL: postgres.url,
    MIGRATE_ON_START: true,
    DB_CONNECTION_TIMEOUT_MS: 1000,
    DB_STATEMENT_TIMEOUT_MS: 2000,
    REVOCATIONS_HEARTBEAT_SECONDS: 1
  })
  const app = buildApp({ config, logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()
  const base = await listen(app)

  const stream = await openStream(base)
  t.equal(stream.status, 200)
  await postgres.stop()
  const started = Date.now()
  await Promise.race([stream.ended, new Promise((resolve) => setTimeout(resolve, STREAMS_END_WITHIN_MS))])
  t.ok(Date.now() - started < STREAMS_END_WITHIN_MS, `the open stream ended ${Date.now() - started} ms into the outage`)

  const refused = await openStream(base)
  t.equal(refused.status, 503, 'a new stream is refused while the database is down')
  await refused.ended
  assertProblem(t, await app.inject('/revocations'), 503, 'service_unavailable')

  await postgres.start()
  const deadline = Date.now() + RECOVERY_WITHIN_MS
  let status = 0
  while (Date.now() < deadline) {
    status = (await app.inject('/revocations')).statusCode
    if (status === 200) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.equal(status, 200, 'the snapshot answers again')
  const back = await openStream(base)
  t.teardown(back.close)
  t.equal(back.status, 200, 'and streams are served again')
})
