import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { buildTestApp, openTestDatabase, postJson, usingPostgres } from '../helper.js'
import { revokeSessions } from '../../src/db/repositories/sessions.js'
import { pruneExpired } from '../../src/domain/sessions/prune.js'
import { listen, openStream } from '../revocations/sse-client.js'
import { loginForTokens, registerUser } from '../support/auth-steps.js'

/*
 * Two instances sharing only the database: a revocation through one reaches a stream on the other
 * within a second, and a stream that reconnects with Last-Event-ID misses nothing. On PostgreSQL, a
 * record committed late with a smaller sequence number is not skipped by a cursor already handed out.
 */

const CONFIG = { ISSUER: 'http://issuer.test', AUDIENCE: 'http://api.test' }
const databaseA = await openTestDatabase(t)
const databaseB = usingPostgres ? await openTestDatabase(t) : databaseA
const [a, b] = await Promise.all([
  buildTestApp(t, CONFIG, { database: databaseA }),
  buildTestApp(t, CONFIG, { database: databaseB })
]) as [FastifyInstance, FastifyInstance]
const baseB = await listen(b)

async function revokeThrough (app: FastifyInstance): Promise<string> {
  const session = await loginForTokens(app, await registerUser(app))
  const response = await postJson(app, '/auth/logout', { refreshToken: session.refreshToken })
  if (response.statusCode !== 204) throw new Error(`logout failed: ${response.statusCode}`)
  return session.sessionId
}

t.test('a revocation through A reaches a stream on B within one second', async (t) => {
  const stream = await openStream(baseB)
  t.teardown(stream.close)
  const lags: number[] = []
  for (let i = 0; i < 5; i++) {
    const sid = await revokeThrough(a)
    const returned = Date.now()
    await stream.waitFor((events) => events.some((e) => e.sid === sid), 1000, `trial ${i}`)
    lags.push(stream.events.find((e) => e.sid === sid)!.receivedAt - returned)
  }
  t.ok(Math.max(...lags) < 1000, `lags after the response: ${lags.join(', ')} ms`)
})

t.test('reconnecting to B with Last-Event-ID misses nothing revoked through A meanwhile', async (t) => {
  const stream = await openStream(baseB)
  const first = await revokeThrough(a)
  await stream.waitFor((events) => events.some((e) => e.sid === first), 1000, 'first')
  const lastId = stream.events.at(-1)!.id
  stream.close()
  const missed = await Promise.all(Array.from({ length: 10 }, async () => await revokeThrough(a)))
  const again = await openStream(baseB, '/revocations/stream', { 'last-event-id': lastId })
  t.teardown(again.close)
  await again.waitFor((events) => missed.every((sid) => events.some((e) => e.sid === sid)), 1000, 'the missed ones')
  t.equal(again.events.length, missed.length, 'and nothing twice')
})

const needsTwoConnections = { skip: !usingPostgres && 'needs two connections' }
t.test('a record committed late with a smaller sequence is not skipped', needsTwoConnections, async (t) => {
  const early = await loginForTokens(a, await registerUser(a))
  const late = await loginForTokens(a, await registerUser(a))
  const before = (await a.inject('/revocations')).json().cursor as string
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let recorded: () => void = () => {}
  const inserted = new Promise<void>((resolve) => { recorded = resolve })
  // Transaction 1 takes its sequence number first and commits last.
  const slow = databaseA.db.transaction().execute(async (trx) => {
    await revokeSessions(trx, [early.sessionId], new Date(), 'logout')
    recorded()
    await held
  })
  await inserted
  await revokeSessions(databaseB.db, [late.sessionId], new Date(), 'logout')
  const seqs = await databaseB.db.selectFrom('session_revocations')
    .select(['session_id', sql<string>`seq::text`.as('seq')])
    .where('session_id', 'in', [early.sessionId, late.sessionId]).execute()
  t.equal(seqs.length, 1, 'only the committed record is visible yet')
  const midway = (await b.inject(`/revocations?since=${before}`)).json()
  t.notOk(
    midway.revoked.some((r: { sid: string }) => r.sid === late.sessionId),
    'the later record waits for the older transaction'
  )
  release()
  await slow
  const after = (await b.inject(`/revocations?since=${midway.cursor as string}`)).json()
  const seen = [...midway.revoked, ...after.revoked].map((r: { sid: string }) => r.sid)
  t.ok(
    seen.includes(early.sessionId) && seen.includes(late.sessionId),
    'the cursor handed out midway still leads to both'
  )
})

t.test('records older than the window are pruned with the sessions', async (t) => {
  const old = await revokeThrough(a)
  const recent = await revokeThrough(a)
  await databaseA.db.updateTable('session_revocations').set({ revoked_at: new Date(Date.now() - 2000 * 1000) })
    .where('session_id', '=', old).execute()
  await pruneExpired(databaseA.db, new Date(), {
    graceSeconds: 10,
    idleSeconds: 86_400,
    keepEndedSessionsSeconds: 7 * 86_400,
    throttleWindowSeconds: 900,
    keepRevocationRecordsSeconds: 960
  })
  const left = await databaseA.db.selectFrom('session_revocations').select('session_id')
    .where('session_id', 'in', [old, recent]).execute()
  t.same(left.map((row) => row.session_id), [recent])
})
