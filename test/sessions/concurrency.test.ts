import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildTestApp, openTestDatabase, usingPostgres } from '../helper.js'
import type { DatabaseHandle } from '../../src/db/connect.js'
import { liveSessionIds, sessionRow, unspentTokenCount } from './session-helpers.js'
import { login, loginForTokens, me, refreshWithBody, registerUser } from '../support/auth-steps.js'

const RACERS = 50
const LOGINS = 20

/**
 * Two "instances" on one database. On PostgreSQL each app gets its own pool (a real multi-instance
 * race). PGlite is one in-process connection: both apps must share one handle, whose driver
 * serialises transactions (two handles on one PGlite would interleave them).
 */
async function twoInstances (
  t: Parameters<typeof openTestDatabase>[0], overrides: Record<string, string | number> = {}
): Promise<{ apps: [FastifyInstance, FastifyInstance], database: DatabaseHandle }> {
  const database = await openTestDatabase(t)
  const second = usingPostgres ? await openTestDatabase(t) : database
  const a = await buildTestApp(t, overrides, { database })
  const b = await buildTestApp(t, overrides, { database: second })
  return { apps: [a, b], database }
}

interface RaceResult { statuses: number[], issued: Set<string>, serverErrors: LightMyRequestResponse[] }

async function race (apps: FastifyInstance[], refreshToken: string): Promise<RaceResult> {
  const replies = await Promise.all(Array.from(
    { length: RACERS }, async (_, i) => await refreshWithBody(apps[i % apps.length]!, refreshToken)
  ))
  return {
    statuses: replies.map((reply) => reply.statusCode),
    issued: new Set(replies
      .filter((reply) => reply.statusCode === 200)
      .map((reply) => reply.json().refreshToken as string)),
    serverErrors: replies.filter((reply) => reply.statusCode >= 500)
  }
}

async function assertOneLiveToken (
  t: Test, apps: FastifyInstance[], database: DatabaseHandle, sessionId: string, result: RaceResult
): Promise<void> {
  t.same(result.serverErrors.map((reply) => `${reply.statusCode} ${reply.body}`), [], 'no racer got a 5xx')
  t.same(result.statuses.filter((status) => status !== 200), [], 'every racer got 200 (all but one within grace)')
  t.equal(result.issued.size, 1, 'every 200 carries the same refresh token: no fork')
  t.equal(await unspentTokenCount(database, sessionId), 1, 'exactly one unspent token in the session')
  t.equal((await sessionRow(database, sessionId)).revoked_at, null, 'the session is not revoked')
  // The surviving token keeps rotating, on every instance in turn.
  let current = [...result.issued][0]!
  for (const app of apps) {
    const next = await refreshWithBody(app, current)
    t.equal(next.statusCode, 200, 'the surviving token rotates')
    t.equal((await me(app, next.json().accessToken)).statusCode, 200, 'and its access token works')
    current = next.json().refreshToken
  }
}

t.test(`${RACERS} concurrent refreshes of one token on one instance`, async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })
  const start = await loginForTokens(app, await registerUser(app))
  const result = await race([app], start.refreshToken)
  await assertOneLiveToken(t, [app], database, start.sessionId, result)
})

t.test(`${RACERS} concurrent refreshes of one token split across two instances sharing the database`, async (t) => {
  const { apps, database } = await twoInstances(t)
  const start = await loginForTokens(apps[0], await registerUser(apps[0]))
  const result = await race(apps, start.refreshToken)
  await assertOneLiveToken(t, apps, database, start.sessionId, result)
  t.equal(
    (await me(apps[1], start.accessToken)).statusCode, 200,
    'an access token from one instance is accepted by the other'
  )
})

t.test(`${LOGINS} concurrent logins with MAX_SESSIONS_PER_USER=1 leave exactly one live session`, async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, { MAX_SESSIONS_PER_USER: 1 }, { database })
  const user = await registerUser(app)
  const replies = await Promise.all(Array.from({ length: LOGINS }, async () => await login(app, user, 'body')))
  t.same(
    replies.filter((reply) => reply.statusCode !== 200).map((reply) => `${reply.statusCode} ${reply.body}`), [],
    'every login answers 200'
  )
  const live = await liveSessionIds(database, user.id)
  t.equal(live.length, 1, 'exactly one live session')
  const survivor = replies.map((reply) => reply.json()).find((body) => body.sessionId === live[0])
  t.ok(survivor, 'the survivor is one of the sessions handed out')
  t.equal((await refreshWithBody(app, survivor.refreshToken)).statusCode, 200, 'and it refreshes')
})

t.test(`${LOGINS} concurrent logins with MAX_SESSIONS_PER_USER=1 across two instances ` +
  'leave exactly one live session', async (t) => {
  const { apps, database } = await twoInstances(t, { MAX_SESSIONS_PER_USER: 1 })
  const user = await registerUser(apps[0])
  const replies = await Promise.all(Array.from(
    { length: LOGINS }, async (_, i) => await login(apps[i % 2]!, user, 'body')
  ))
  t.same(
    replies.filter((reply) => reply.statusCode !== 200).map((reply) => `${reply.statusCode} ${reply.body}`), [],
    'every login answers 200'
  )
  t.equal((await liveSessionIds(database, user.id)).length, 1, 'exactly one live session')
})
