import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { assertProblem, testConfig, uniqueEmail } from '../helper.js'
import { register } from '../support/auth-steps.js'
import { startThrowawayPostgres } from '../support/throwaway-postgres.js'

const ANSWER_WITHIN_MS = 3_000
const RECOVERY_WITHIN_MS = 20_000

async function timed (
  send: () => Promise<LightMyRequestResponse>
): Promise<{ response: LightMyRequestResponse, ms: number }> {
  const started = performance.now()
  const response = await send()
  return { response, ms: performance.now() - started }
}

/** Poll until `check` holds; resolves to the time it took, or `undefined` past the deadline. */
async function eventually (check: () => Promise<boolean> | boolean, withinMs: number): Promise<number | undefined> {
  const started = performance.now()
  while (performance.now() - started < withinMs) {
    if (await check()) return performance.now() - started
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return undefined
}

t.test('a PostgreSQL outage is answered with 503 service_unavailable and heals by itself', async (t) => {
  const postgres = await startThrowawayPostgres(t)
  if (postgres === undefined) {
    t.plan(0, 'no PostgreSQL binaries on this machine')
    return
  }
  const config = testConfig({
    DATABASE_URL: postgres.url, MIGRATE_ON_START: true, DB_CONNECTION_TIMEOUT_MS: 1000, DB_STATEMENT_TIMEOUT_MS: 2000
  })
  const app = await buildApp({ config, logger: false })
  t.teardown(async () => { await app.close() })
  await app.ready()

  t.equal((await register(app, uniqueEmail('outage'))).statusCode, 201, 'register works while the database is up')
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'ready while the database is up')

  // The pool now holds idle connections that the crash breaks under it: each emits 'error' on the
  // pool, which would kill the process if nothing listened.
  t.ok(app.database.poolStats().idle > 0, 'the pool holds idle connections when the database dies')
  await postgres.stop()
  const dropped = await eventually(() => app.database.poolStats().total === 0, ANSWER_WITHIN_MS)
  t.ok(dropped !== undefined, 'the pool drops its broken connections and the process survives')

  t.test('while it is down', async (t) => {
    for (let round = 1; round <= 2; round++) {
      const ready = await timed(async () => await app.inject('/health/ready'))
      assertProblem(t, ready.response, 503, 'service_unavailable')
      t.ok(ready.ms < ANSWER_WITHIN_MS, `round ${round}: /health/ready answered in ${Math.round(ready.ms)} ms`)

      const registration = await timed(async () => await register(app, uniqueEmail('outage')))
      assertProblem(t, registration.response, 503, 'service_unavailable')
      t.ok(registration.ms < ANSWER_WITHIN_MS, `round ${round}: register answered in ${Math.round(registration.ms)} ms`)
      t.equal(registration.response.headers['retry-after'], '5', 'tells the client when to retry')
      t.notMatch(registration.response.body, /ECONN|127\.0\.0\.1|terminat|pool|stack/i, 'no driver detail leaks')
    }

    const burst = await Promise.all(Array.from({ length: 8 }, async () => await register(app, uniqueEmail('outage'))))
    t.same(burst.map((r) => r.statusCode), burst.map(() => 503),
      'concurrent registrations all fail closed with 503, none with 500')

    t.equal((await app.inject('/health/live')).statusCode, 200, 'liveness does not depend on the database')
  })

  t.test('once it is back, without rebuilding the app', async (t) => {
    await postgres.start()
    const recoveredIn = await eventually(
      async () => (await app.inject('/health/ready')).statusCode === 200, RECOVERY_WITHIN_MS
    )
    t.ok(recoveredIn !== undefined, `/health/ready answers 200 again (after ${Math.round(recoveredIn ?? -1)} ms)`)
    t.equal((await register(app, uniqueEmail('outage'))).statusCode, 201, 'register works again')
  })
})
