import t from 'tap'
import { assertProblem, buildTestApp, openTestDatabase } from '../helper.js'
import { auditTypes, sessionRow, unspentTokenCount } from './session-helpers.js'
import { createTestClock } from '../support/test-clock.js'
import {
  login, loginForTokens, me, refreshCookieOf, refreshWithBody, refreshWithCookie, registerUser, tokensOf
} from '../support/auth-steps.js'

t.test('the reuse grace window (default 10 s)', async (t) => {
  const database = await openTestDatabase(t)
  // The window is judged on the app's clock: the tests move it rather than edit spent_at.
  const clock = createTestClock()
  const app = await buildTestApp(t, {}, { database, clock })
  const user = await registerUser(app)

  t.test('re-presenting the token just spent returns the current token, not a fork, and revokes nothing', async (t) => {
    const t1 = await loginForTokens(app, user)
    const t2 = tokensOf(await refreshWithBody(app, t1.refreshToken), 'T1 -> T2')

    const replay = await refreshWithBody(app, t1.refreshToken)
    t.equal(replay.statusCode, 200, 'the lost-response retry succeeds')
    t.equal(replay.headers['cache-control'], 'no-store')
    const replayed = replay.json()
    t.equal(replayed.refreshToken, t2.refreshToken, 'the answer carries the session\'s current token T2')
    t.equal(replayed.sessionId, t1.sessionId)
    t.ok(replayed.refreshExpiresIn <= t2.refreshExpiresIn, 'grace never extends the session')
    t.equal((await me(app, replayed.accessToken)).statusCode, 200, 'with a working access token')

    const again = await refreshWithBody(app, t1.refreshToken)
    t.equal(again.statusCode, 200, 'a second retry within the window also succeeds')
    t.equal(again.json().refreshToken, t2.refreshToken, 'and also gets T2')

    t.equal((await sessionRow(database, t1.sessionId)).revoked_at, null, 'the session is not revoked')
    t.equal(await unspentTokenCount(database, t1.sessionId), 1, 'still exactly one unspent token')
    const minted = await database.db.selectFrom('refresh_tokens').select('id')
      .where('session_id', '=', t1.sessionId).execute()
    t.equal(minted.length, 2, 'no token was minted for the retries')
    t.notOk((await auditTypes(database, { sessionId: t1.sessionId })).includes('refresh_reuse_detected'))

    const t3 = await refreshWithBody(app, t2.refreshToken)
    t.equal(t3.statusCode, 200, 'T2 still rotates afterwards')
    t.not(t3.json().refreshToken, t2.refreshToken, 'to a new T3')
    t.equal((await me(app, t2.accessToken)).statusCode, 200, 'the earlier access token of the live session still works')
  })

  t.test('once the successor has itself been spent, the old token is reuse even within the window', async (t) => {
    const t1 = await loginForTokens(app, user)
    const t2 = tokensOf(await refreshWithBody(app, t1.refreshToken), 'T1 -> T2')
    const t3 = tokensOf(await refreshWithBody(app, t2.refreshToken), 'T2 -> T3')

    assertProblem(t, await refreshWithBody(app, t1.refreshToken), 401, 'refresh_token_reused')
    assertProblem(t, await refreshWithBody(app, t3.refreshToken), 401, 'invalid_refresh_token')
    assertProblem(t, await me(app, t3.accessToken), 401, 'invalid_token')
    t.equal((await sessionRow(database, t1.sessionId)).revoked_reason, 'reuse_detected')
  })

  t.test('after the window, re-presenting the spent token is reuse and revokes the session', async (t) => {
    const t1 = await loginForTokens(app, user)
    const t2 = tokensOf(await refreshWithBody(app, t1.refreshToken), 'T1 -> T2')
    clock.advance(11)

    assertProblem(t, await refreshWithBody(app, t1.refreshToken), 401, 'refresh_token_reused')
    assertProblem(t, await refreshWithBody(app, t2.refreshToken), 401, 'invalid_refresh_token')
    assertProblem(t, await me(app, t2.accessToken), 401, 'invalid_token')
    const session = await sessionRow(database, t1.sessionId)
    t.not(session.revoked_at, null)
    t.equal(session.revoked_reason, 'reuse_detected')
    t.ok((await auditTypes(database, { sessionId: t1.sessionId })).includes('refresh_reuse_detected'))
  })

  t.test('just inside the window (spent 9 s ago) is still grace', async (t) => {
    const t1 = await loginForTokens(app, user)
    const t2 = tokensOf(await refreshWithBody(app, t1.refreshToken), 'T1 -> T2')
    clock.advance(9)
    const replay = await refreshWithBody(app, t1.refreshToken)
    t.equal(replay.statusCode, 200)
    t.equal(replay.json().refreshToken, t2.refreshToken)
  })

  t.test('a grace replay does not revive a session that was logged out', async (t) => {
    const t1 = await loginForTokens(app, user)
    const t2 = tokensOf(await refreshWithBody(app, t1.refreshToken), 'T1 -> T2')
    const logout = await app.inject({ method: 'POST', url: '/auth/logout', payload: { refreshToken: t2.refreshToken } })
    t.equal(logout.statusCode, 204)
    assertProblem(t, await refreshWithBody(app, t1.refreshToken), 401, 'invalid_refresh_token')
  })

  t.test('in cookie mode a grace replay sets the current token as the cookie', async (t) => {
    const started = await login(app, user)
    const c1 = refreshCookieOf(started)!.value
    const rotated = await refreshWithCookie(app, c1)
    t.equal(rotated.statusCode, 200)
    const c2 = refreshCookieOf(rotated)!.value
    t.not(c2, c1)

    const replay = await refreshWithCookie(app, c1)
    t.equal(replay.statusCode, 200)
    t.equal(refreshCookieOf(replay)?.value, c2, 'the cookie is the current token, not a fork')
    t.equal(replay.json().refreshToken, undefined, 'and the token is still not in the body')
    t.equal((await refreshWithCookie(app, c2)).statusCode, 200, 'the current cookie keeps working')
  })
})
