import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { pruneExpired, type PrunePolicy } from '../../src/domain/sessions/prune.js'
import type { DatabaseHandle } from '../../src/db/connect.js'
import { assertProblem, buildTestApp, openTestDatabase, postJson, usingPostgres } from '../helper.js'
import { loginForTokens, refreshWithBody, registerUser, tokensOf as tokensIn } from '../support/auth-steps.js'

/**
 * pruneExpired on a real database: sessions made by real logins and refreshes, then aged by
 * moving their timestamps back with SQL.
 */

const SECOND = 1000
const HOUR = 3600 * SECOND
const DAY = 24 * HOUR
const GRACE_SECONDS = 60
const POLICY: PrunePolicy = {
  graceSeconds: GRACE_SECONDS,
  idleSeconds: 86_400,
  keepEndedSessionsSeconds: 7 * 86_400,
  throttleWindowSeconds: 900
}

/** Rotate once over HTTP: the successor refresh token. */
async function refresh (app: FastifyInstance, refreshToken: string): Promise<string> {
  return tokensIn(await refreshWithBody(app, refreshToken), 'refresh').refreshToken
}

const ago = (now: Date, ms: number): Date => new Date(now.getTime() - ms)

async function sessionExists (database: DatabaseHandle, id: string): Promise<boolean> {
  return await database.db.selectFrom('sessions').select('id').where('id', '=', id).executeTakeFirst() !== undefined
}

async function tokensOf (database: DatabaseHandle, sessionId: string) {
  return await database.db.selectFrom('refresh_tokens').selectAll()
    .where('session_id', '=', sessionId).orderBy('created_at').execute()
}

t.test('pruneExpired', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: GRACE_SECONDS }, { database })
  const user = await registerUser(app)
  const setSession = async (
    id: string,
    values: { revoked_at?: Date, expires_at?: Date, last_used_at?: Date }
  ): Promise<void> => {
    await database.db.updateTable('sessions').set(values).where('id', '=', id).execute()
  }

  t.test('deletes sessions ended longer ago than the keep window, with their tokens; keeps the rest', async (t) => {
    const now = new Date()

    // Revoked 8 days ago (after one rotation, so it holds a spent and an unspent token).
    const revokedLongAgo = await loginForTokens(app, user)
    const revokedLongAgoNext = await refresh(app, revokedLongAgo.refreshToken)
    t.equal((await postJson(app, '/auth/logout', { refreshToken: revokedLongAgoNext })).statusCode, 204)
    await setSession(revokedLongAgo.sessionId, { revoked_at: ago(now, 8 * DAY) })
    t.equal((await tokensOf(database, revokedLongAgo.sessionId)).length, 2)

    // Revoked an hour ago: kept, for the session history.
    const revokedRecently = await loginForTokens(app, user)
    t.equal((await postJson(app, '/auth/logout', { refreshToken: revokedRecently.refreshToken })).statusCode, 204)
    await setSession(revokedRecently.sessionId, { revoked_at: ago(now, HOUR) })

    // Past its absolute expiry 8 days ago / 1 day ago.
    const expiredLongAgo = await loginForTokens(app, user)
    await setSession(expiredLongAgo.sessionId, {
      expires_at: ago(now, 8 * DAY),
      last_used_at: ago(now, 8 * DAY + HOUR)
    })
    const expiredRecently = await loginForTokens(app, user)
    await setSession(expiredRecently.sessionId, { expires_at: ago(now, DAY), last_used_at: ago(now, DAY + HOUR) })

    // Idle: last used 9 days ago (idle since 8 days) / 2 days ago (idle since 1 day).
    const idleLongAgo = await loginForTokens(app, user)
    await setSession(idleLongAgo.sessionId, { last_used_at: ago(now, 9 * DAY) })
    const idleRecently = await loginForTokens(app, user)
    await setSession(idleRecently.sessionId, { last_used_at: ago(now, 2 * DAY) })

    // Live, rotated twice: two spent tokens and the current one.
    const live = await loginForTokens(app, user)
    const second = await refresh(app, live.refreshToken)
    const third = await refresh(app, second)
    t.equal((await tokensOf(database, live.sessionId)).length, 3)

    const deleted = await pruneExpired(database.db, now, POLICY)
    t.equal(deleted, 3, 'three sessions deleted')

    const pruned = [
      ['revoked 8 days ago', revokedLongAgo], ['expired 8 days ago', expiredLongAgo], ['idle for 8 days', idleLongAgo]
    ] as const
    for (const [name, session] of pruned) {
      t.notOk(await sessionExists(database, session.sessionId), `${name}: deleted`)
      t.same(await tokensOf(database, session.sessionId), [], `${name}: its refresh tokens deleted`)
    }
    const kept = [
      ['revoked an hour ago', revokedRecently],
      ['expired a day ago', expiredRecently],
      ['idle for a day', idleRecently],
      ['live', live]
    ] as const
    for (const [name, session] of kept) {
      t.ok(await sessionExists(database, session.sessionId), `${name}: kept`)
      t.not((await tokensOf(database, session.sessionId)).length, 0, `${name}: its tokens kept`)
    }
    t.equal((await tokensOf(database, live.sessionId)).length, 3, 'the live session keeps its spent tokens')

    // The pruned session's token is simply unknown now.
    const gone = await postJson(app, '/auth/refresh', { refreshToken: revokedLongAgoNext })
    t.equal(gone.statusCode, 401)

    t.equal(await pruneExpired(database.db, now, POLICY), 0, 'a second run finds nothing more')
    const stillLive = await postJson(app, '/auth/refresh', { refreshToken: third })
    t.equal(stillLive.statusCode, 200, 'the live session still refreshes')
  })

  t.test('reuse detection survives pruning: a spent token of a live session is still recognised', async (t) => {
    const session = await loginForTokens(app, user)
    const second = await refresh(app, session.refreshToken)
    const third = await refresh(app, second)
    // The first token was spent an hour ago: outside the grace window.
    const [first] = await tokensOf(database, session.sessionId)
    await database.db.updateTable('refresh_tokens').set({ spent_at: ago(new Date(), HOUR) })
      .where('id', '=', first!.id).execute()

    await pruneExpired(database.db, new Date(), POLICY)
    t.equal((await tokensOf(database, session.sessionId)).length, 3, 'no token of the live session pruned')

    const reused = await postJson(app, '/auth/refresh', { refreshToken: session.refreshToken })
    assertProblem(t, reused, 401, 'refresh_token_reused')
    const row = await database.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason'])
      .where('id', '=', session.sessionId).executeTakeFirstOrThrow()
    t.not(row.revoked_at, null, 'the family is revoked')
    const newest = await postJson(app, '/auth/refresh', { refreshToken: third })
    t.equal(newest.statusCode, 401, 'the newest token stops working')
  })

  t.test('clears successor ciphertexts whose grace window is over, and keeps recent ones ' +
    '(grace still works)', async (t) => {
    // Each session's last spent token is the only one that still holds a ciphertext: older ones
    // are cleared by rotation itself. One session's was spent long ago, the other's just now.
    const old = await loginForTokens(app, user)
    await refresh(app, old.refreshToken)
    const session = await loginForTokens(app, user)
    const current = await refresh(app, session.refreshToken)
    const [oldSpent] = await tokensOf(database, old.sessionId)
    const [spentNow] = await tokensOf(database, session.sessionId)
    t.not(oldSpent!.successor_ciphertext, null)
    t.not(spentNow!.successor_ciphertext, null)
    await database.db.updateTable('refresh_tokens').set({ spent_at: ago(new Date(), 2 * GRACE_SECONDS * SECOND) })
      .where('id', '=', oldSpent!.id).execute()

    await pruneExpired(database.db, new Date(), POLICY)
    const [oldSpentAfter, oldCurrentAfter] = await tokensOf(database, old.sessionId)
    const [spentNowAfter] = await tokensOf(database, session.sessionId)
    t.equal(oldSpentAfter!.successor_ciphertext, null, 'spent longer ago than the grace window: cleared')
    t.not(oldSpentAfter!.spent_at, null, 'but the token itself stays, spent')
    t.equal(oldSpentAfter!.replaced_by, oldSpent!.replaced_by, 'and keeps its link to its successor')
    t.equal(spentNowAfter!.successor_ciphertext, spentNow!.successor_ciphertext, 'spent within the grace window: kept')
    t.equal(oldCurrentAfter!.spent_at, null, 'the current token is untouched')

    // The benign retry of the token just spent still gets the current token back.
    const retry = await postJson(app, '/auth/refresh', { refreshToken: session.refreshToken })
    t.equal(retry.statusCode, 200, retry.body)
    t.equal(retry.json().refreshToken, current, 'the session\'s current token, not a fork')
  })

  t.test('deletes stale login throttles and keeps active ones', async (t) => {
    const now = new Date()
    const stale = `stale-${randomUUID()}@example.com`
    const blocked = `blocked-${randomUUID()}@example.com`
    const fresh = `fresh-${randomUUID()}@example.com`
    await database.db.insertInto('login_throttles').values([
      { email: stale, source: '192.0.2.1', failures: 3, window_started_at: ago(now, DAY), blocked_until: null },
      {
        email: blocked,
        source: '192.0.2.1',
        failures: 9,
        window_started_at: ago(now, DAY),
        blocked_until: new Date(now.getTime() + HOUR)
      },
      { email: fresh, source: '192.0.2.1', failures: 2, window_started_at: ago(now, 60 * SECOND), blocked_until: null }
    ]).execute()
    await pruneExpired(database.db, now, POLICY)
    const rows = await database.db.selectFrom('login_throttles').select('email')
      .where('email', 'in', [stale, blocked, fresh]).execute()
    const left = rows.map((row) => row.email).sort()
    t.same(left, [blocked, fresh].sort())
  })

  t.test('deletes more ended sessions than one batch holds', async (t) => {
    const now = new Date()
    const count = 1203
    const ids = Array.from({ length: count }, () => randomUUID())
    for (let i = 0; i < ids.length; i += 400) {
      const chunk = ids.slice(i, i + 400)
      await database.db.insertInto('sessions').values(chunk.map((id) => ({
        id,
        user_id: user.id,
        client_id: 'first-party',
        delivery: 'body' as const,
        created_at: ago(now, 20 * DAY),
        last_used_at: ago(now, 10 * DAY),
        expires_at: ago(now, 6 * DAY - HOUR),
        revoked_at: ago(now, 10 * DAY),
        revoked_reason: 'logout'
      }))).execute()
      await database.db.insertInto('refresh_tokens').values(chunk.map((id) => ({
        id: randomUUID(),
        session_id: id,
        token_hash: randomUUID(),
        created_at: ago(now, 20 * DAY)
      }))).execute()
    }
    const deleted = await pruneExpired(database.db, now, POLICY)
    t.equal(deleted, count, 'every one of them')
    const left = await database.db.selectFrom('sessions').select('id').where('id', 'in', ids.slice(0, 50)).execute()
    t.same(left, [])
    const tokens = await database.db.selectFrom('refresh_tokens').select('id')
      .where('session_id', 'in', ids.slice(-50)).execute()
    t.same(tokens, [], 'their tokens went with them')
  })

  const needsTwoConnections = { skip: usingPostgres ? false : 'PGlite has a single connection' }
  t.test('skips rows another transaction holds instead of waiting for them', needsTwoConnections, async (t) => {
    const session = await loginForTokens(app, user)
    t.equal((await postJson(app, '/auth/logout', { refreshToken: session.refreshToken })).statusCode, 204)
    await setSession(session.sessionId, { revoked_at: ago(new Date(), 8 * DAY) })

    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    let locked: () => void = () => {}
    const lockTaken = new Promise<void>((resolve) => { locked = resolve })
    const holder = database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('sessions').select('id').where('id', '=', session.sessionId).forUpdate().execute()
      locked()
      await held
    })
    await lockTaken
    try {
      const started = Date.now()
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout') }, 10_000).unref())
      const result = await Promise.race([pruneExpired(database.db, new Date(), POLICY), timeout])
      t.not(result, 'timeout', 'pruning did not wait for the lock')
      t.ok(Date.now() - started < 10_000)
      t.ok(await sessionExists(database, session.sessionId), 'the locked session was skipped')
    } finally {
      release()
      await holder
    }
    await pruneExpired(database.db, new Date(), POLICY)
    t.notOk(await sessionExists(database, session.sessionId), 'and deleted by the next run')
  })
})
