import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { assertProblem, buildTestApp, openTestDatabase, postJson, uniqueEmail } from '../helper.js'
import { auditTypes, sessionRow } from './session-helpers.js'
import { createTestClock } from '../support/test-clock.js'
import { startSession } from '../../src/domain/sessions/start-session.js'
import {
  bearer, type BodyTokens, login, loginForTokens, me, refreshWithBody, registerUser, type TestUser, tokensOf
} from '../support/auth-steps.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const NEW_PASSWORD = 'a different long passphrase 77'

t.test('how a session ends, and what the client sees', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })

  /** The session is over for the client: its refresh token and its access token are refused. */
  async function assertEnded (
    t: Test,
    session: BodyTokens,
    refreshCode = 'invalid_refresh_token',
    on: FastifyInstance = app
  ): Promise<void> {
    assertProblem(t, await refreshWithBody(on, session.refreshToken), 401, refreshCode)
    assertProblem(t, await me(on, session.accessToken), 401, 'invalid_token')
  }
  async function assertAlive (t: Test, session: BodyTokens, on: FastifyInstance = app): Promise<BodyTokens> {
    t.equal((await me(on, session.accessToken)).statusCode, 200, 'its access token works')
    const response = await refreshWithBody(on, session.refreshToken)
    t.equal(response.statusCode, 200, 'its refresh token works')
    return { ...session, refreshToken: response.json().refreshToken, accessToken: response.json().accessToken }
  }

  // Lifetimes are judged on the app's clock: these move a test clock on an app of their own. Its
  // access tokens last as long as a session, so a refused one was refused for the session's sake.
  const IDLE = 3600
  const LIFETIME = 7200
  const clock = createTestClock()
  const lifetimes = { SESSION_IDLE_TTL: IDLE, REFRESH_TOKEN_TTL: LIFETIME, ACCESS_TOKEN_TTL: LIFETIME }
  const timed = await buildTestApp(t, lifetimes, { database, clock })

  t.test('absolute expiry: refresh is 401 session_expired, however recently the session was used', async (t) => {
    let session = await loginForTokens(timed, await registerUser(timed))
    for (let step = 0; step < 2; step++) {
      clock.advance(IDLE - 600)
      session = await assertAlive(t, session, timed)
    }
    clock.advance(LIFETIME - 2 * (IDLE - 600) - 1)
    session = await assertAlive(t, session, timed)
    clock.advance(2)
    await assertEnded(t, session, 'session_expired', timed)
  })

  t.test('idle timeout: a session not refreshed for SESSION_IDLE_TTL is 401 session_expired', async (t) => {
    const session = await loginForTokens(timed, await registerUser(timed))
    clock.advance(IDLE + 1)
    await assertEnded(t, session, 'session_expired', timed)
  })

  t.test('a session used just inside the idle timeout lives on', async (t) => {
    const session = await loginForTokens(timed, await registerUser(timed))
    clock.advance(IDLE - 60)
    await assertAlive(t, session, timed)
  })

  t.test('POST /auth/logout with the refresh token in the body: 204, then the token is 401', async (t) => {
    const session = await loginForTokens(app, await registerUser(app))
    const response = await postJson(app, '/auth/logout', { refreshToken: session.refreshToken })
    t.equal(response.statusCode, 204)
    await assertEnded(t, session)
    t.equal((await sessionRow(database, session.sessionId)).revoked_reason, 'logout')
    const again = await postJson(app, '/auth/logout', { refreshToken: session.refreshToken })
    t.equal(again.statusCode, 204, 'logging out twice is still 204')
  })

  t.test('POST /auth/logout with only an access token: 204 and that session is revoked', async (t) => {
    const user = await registerUser(app)
    const session = await loginForTokens(app, user)
    const other = await loginForTokens(app, user)
    const response = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })
    t.equal(response.statusCode, 204)
    await assertEnded(t, session)
    await assertAlive(t, other)
  })

  t.test('POST /auth/logout with neither token: 401 invalid_token', async (t) => {
    assertProblem(t, await app.inject({ method: 'POST', url: '/auth/logout' }), 401, 'invalid_token')
    const garbage = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer('not.a.jwt') })
    assertProblem(t, garbage, 401, 'invalid_token')
  })

  t.test('POST /auth/logout-all: 204 and every session of the user ends, others\' do not', async (t) => {
    const user = await registerUser(app)
    const sessions = [await loginForTokens(app, user), await loginForTokens(app, user), await loginForTokens(app, user)]
    const stranger = await loginForTokens(app, await registerUser(app))
    const response = await app.inject({
      method: 'POST', url: '/auth/logout-all', headers: bearer(sessions[1]!.accessToken)
    })
    t.equal(response.statusCode, 204)
    for (const session of sessions) await assertEnded(t, session)
    await assertAlive(t, stranger)
    assertProblem(t, await app.inject({ method: 'POST', url: '/auth/logout-all' }), 401, 'invalid_token')
  })

  t.test('GET /auth/sessions lists the live sessions, exactly one of them current', async (t) => {
    const user = await registerUser(app)
    const laptop = await loginForTokens(app, user, { 'user-agent': 'Laptop/1.0' })
    const phone = await loginForTokens(app, user, { 'user-agent': 'Phone/2.0' })
    const gone = await loginForTokens(app, user, { 'user-agent': 'Gone/3.0' })
    await postJson(app, '/auth/logout', { refreshToken: gone.refreshToken })

    const response = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(phone.accessToken) })
    t.equal(response.statusCode, 200)
    const { sessions } = response.json()
    t.equal(sessions.length, 2, 'the two live sessions, not the logged-out one')
    for (const session of sessions) {
      t.same(
        Object.keys(session).sort(),
        ['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent'],
        'exactly the documented fields'
      )
      t.match(session.id, UUID)
      for (const field of ['createdAt', 'lastUsedAt', 'expiresAt']) {
        t.ok(!Number.isNaN(Date.parse(session[field])), `${field} is a date-time`)
      }
      t.ok(Date.parse(session.expiresAt) > Date.now(), 'expiresAt is in the future')
      t.type(session.ip, 'string')
    }
    const currentIds = sessions
      .filter((session: { current: boolean }) => session.current)
      .map((session: { id: string }) => session.id)
    t.same(currentIds, [phone.sessionId], 'exactly one current: the caller\'s')
    t.same(new Set(sessions.map((session: { id: string }) => session.id)), new Set([laptop.sessionId, phone.sessionId]))
    t.same(
      sessions.map((session: { userAgent: string }) => session.userAgent),
      ['Phone/2.0', 'Laptop/1.0'],
      'newest first, with their user agents'
    )
    assertProblem(t, await app.inject({ method: 'GET', url: '/auth/sessions' }), 401, 'invalid_token')
  })

  t.test('DELETE /auth/sessions/:id revokes one of your own sessions and nobody else\'s', async (t) => {
    const user = await registerUser(app)
    const current = await loginForTokens(app, user)
    const lost = await loginForTokens(app, user)
    const stranger = await loginForTokens(app, await registerUser(app))
    const remove = async (id: string) =>
      await app.inject({ method: 'DELETE', url: `/auth/sessions/${id}`, headers: bearer(current.accessToken) })

    t.equal((await remove(lost.sessionId)).statusCode, 204, 'own other session: 204')
    await assertEnded(t, lost)

    assertProblem(t, await remove(stranger.sessionId), 404, 'not_found')
    await assertAlive(t, stranger)
    assertProblem(t, await remove('0191c1b2-7a3e-7c4d-8e5f-123456789abc'), 404, 'not_found')
    assertProblem(t, await remove('not-a-uuid'), 404, 'not_found')
    await assertAlive(t, current)
  })

  t.test('POST /auth/password', async (t) => {
    const user = await registerUser(app)
    const caller = await loginForTokens(app, user)
    const other = await loginForTokens(app, user)
    const change = async (currentPassword: string, newPassword: string) =>
      await postJson(app, '/auth/password', { currentPassword, newPassword }, bearer(caller.accessToken))
    const hashNow = async () => (await database.db.selectFrom('users').select('password_hash')
      .where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash
    const hashBefore = await hashNow()

    t.test('a wrong current password is 401 invalid_credentials and changes nothing', async (t) => {
      assertProblem(t, await change('not the password at all', NEW_PASSWORD), 401, 'invalid_credentials')
      t.equal(await hashNow(), hashBefore)
      t.equal((await sessionRow(database, other.sessionId)).revoked_at, null, 'no session revoked')
    })

    t.test('a common new password is 400 weak_password and changes nothing', async (t) => {
      assertProblem(t, await change(user.password, 'password123'), 400, 'weak_password')
      t.equal(await hashNow(), hashBefore)
      t.equal((await sessionRow(database, other.sessionId)).revoked_at, null, 'no session revoked')
    })

    t.test('success: 204, other sessions end, the caller\'s lives on, only the new password logs in', async (t) => {
      t.equal((await change(user.password, NEW_PASSWORD)).statusCode, 204)
      t.not(await hashNow(), hashBefore)
      await assertEnded(t, other)
      await assertAlive(t, caller)
      assertProblem(t, await login(app, user, 'body'), 401, 'invalid_credentials')
      t.equal((await login(app, { email: user.email, password: NEW_PASSWORD }, 'body')).statusCode, 200)
    })
  })

  t.test('login failures: unknown email and wrong password answer identically', async (t) => {
    const user = await registerUser(app)
    const unknown = await login(app, { email: uniqueEmail('nobody'), password: user.password }, 'body')
    const wrong = await login(app, { email: user.email, password: 'not the right password' }, 'body')
    assertProblem(t, unknown, 401, 'invalid_credentials')
    assertProblem(t, wrong, 401, 'invalid_credentials')
    t.same(wrong.json(), unknown.json(), 'the same body')
    t.equal(wrong.headers['content-type'], unknown.headers['content-type'])
    t.equal(wrong.headers['www-authenticate'], unknown.headers['www-authenticate'])
    t.equal(wrong.headers['set-cookie'], undefined)
  })

  t.test('account throttling after LOGIN_FAILURES_BEFORE_BACKOFF (default 10) failures', async (t) => {
    const victim = await registerUser(timed)
    const bystander = await registerUser(timed)
    for (let i = 1; i <= 10; i++) {
      const failed = await login(timed, { email: victim.email, password: `wrong password ${i}` }, 'body')
      assertProblem(t, failed, 401, 'invalid_credentials')
    }
    // The tenth failure starts a (1 s) back-off; the next attempt follows at once. The clock then
    // moves past it: nothing in the database is edited.
    const blocked = await login(timed, victim, 'body')
    assertProblem(t, blocked, 429, 'rate_limited')
    t.match(blocked.headers['retry-after'], /^[1-9]\d*$/, 'with Retry-After in whole seconds')
    t.notMatch(blocked.body, victim.email, 'the email is not echoed')
    t.equal((await login(timed, bystander, 'body')).statusCode, 200, 'another account is unaffected')

    const backOff = Number(blocked.headers['retry-after'])
    clock.advance(backOff + 1)
    t.equal((await login(timed, victim, 'body')).statusCode, 200, 'the back-off ends by itself')
    t.equal((await login(timed, victim, 'body')).statusCode, 200, 'and a success clears the count')
  })

  t.test('an unknown email is throttled exactly like a real account', async (t) => {
    const email = uniqueEmail('ghost')
    for (let i = 1; i <= 10; i++) {
      assertProblem(t, await login(app, { email, password: `wrong password ${i}` }, 'body'), 401, 'invalid_credentials')
    }
    assertProblem(t, await login(app, { email, password: 'wrong password 11' }, 'body'), 429, 'rate_limited')
  })

  t.test('audit_events records every way in and out', async (t) => {
    const user = await registerUser(app)
    const failed = await login(app, { email: user.email, password: 'wrong password' }, 'body')
    assertProblem(t, failed, 401, 'invalid_credentials')
    const a = await loginForTokens(app, user)
    const b = await loginForTokens(app, user)
    const revoked = await app.inject({
      method: 'DELETE', url: `/auth/sessions/${b.sessionId}`, headers: bearer(a.accessToken)
    })
    t.equal(revoked.statusCode, 204)
    const changed = await postJson(
      app,
      '/auth/password',
      { currentPassword: user.password, newPassword: NEW_PASSWORD },
      bearer(a.accessToken)
    )
    t.equal(changed.statusCode, 204)
    t.equal((await postJson(app, '/auth/logout', { refreshToken: a.refreshToken })).statusCode, 204)
    const c = await loginForTokens(app, { email: user.email, password: NEW_PASSWORD })
    const loggedOutAll = await app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(c.accessToken) })
    t.equal(loggedOutAll.statusCode, 204)

    const types = new Set(await auditTypes(database, { userId: user.id }))
    const expected = ['login_succeeded', 'login_failed', 'logout', 'logout_all', 'password_changed', 'session_revoked']
    for (const type of expected) {
      t.ok(types.has(type), `an audit event ${type}`)
    }
    const rows = await database.db.selectFrom('audit_events').selectAll().where('user_id', '=', user.id).execute()
    const text = JSON.stringify(rows)
    for (const secret of [user.password, NEW_PASSWORD, a.refreshToken, a.accessToken]) {
      t.notOk(text.includes(secret), 'no secret in the audit trail')
    }
  })
})

t.test('MAX_SESSIONS_PER_USER', async (t) => {
  const database = await openTestDatabase(t)
  const single = await buildTestApp(t, { MAX_SESSIONS_PER_USER: 1 }, { database })
  const double = await buildTestApp(t, { MAX_SESSIONS_PER_USER: 2 }, { database })

  const loginAll = async (app: FastifyInstance, user: TestUser, count: number): Promise<BodyTokens[]> => {
    const sessions: BodyTokens[] = []
    for (let i = 0; i < count; i++) sessions.push(await loginForTokens(app, user))
    return sessions
  }
  const refreshStatus = async (app: FastifyInstance, session: BodyTokens): Promise<number> =>
    (await refreshWithBody(app, session.refreshToken)).statusCode

  t.test('1: a second login revokes the first session', async (t) => {
    const [first, second] = await loginAll(single, await registerUser(single), 2)
    assertProblem(t, await refreshWithBody(single, first!.refreshToken), 401, 'invalid_refresh_token')
    assertProblem(t, await me(single, first!.accessToken), 401, 'invalid_token')
    t.equal((await sessionRow(database, first!.sessionId)).revoked_reason, 'session_limit')
    t.equal(await refreshStatus(single, second!), 200)
    t.ok((await auditTypes(database, { sessionId: first!.sessionId })).includes('session_revoked'))
  })

  t.test('2: a third login revokes only the oldest', async (t) => {
    const [oldest, middle, newest] = await loginAll(double, await registerUser(double), 3)
    t.equal(await refreshStatus(double, oldest!), 401, 'the oldest is revoked')
    t.equal(await refreshStatus(double, middle!), 200, 'the middle one lives')
    t.equal(await refreshStatus(double, newest!), 200, 'the newest lives')
  })

  t.test('2: sessions of other users do not count', async (t) => {
    const [mine] = await loginAll(double, await registerUser(double), 1)
    await loginAll(double, await registerUser(double), 3)
    t.equal(await refreshStatus(double, mine!), 200)
  })

  t.test('1: the newest login wins even when its instance\'s clock runs 2 s behind the previous one\'s', async (t) => {
    const user = await registerUser(single)
    const earlier = await loginForTokens(single, user)
    // A second instance whose clock lags (or a login that read the clock, then waited for the
    // lock while another login committed): its session is created "before" the earlier one.
    const lagging = { now: () => new Date(Date.now() - 2000) }
    const later = await startSession({ ...single.services.wiring.sessions, clock: lagging }, {
      userId: user.id,
      clientId: 'first-party',
      delivery: 'body',
      context: { ip: '127.0.0.1', userAgent: 'lagging-instance' },
      audit: 'login_succeeded'
    })
    const refreshed = await refreshWithBody(single, later.refreshToken)
    t.equal(refreshed.statusCode, 200, `the session just handed out works (${refreshed.body.slice(0, 120)})`)
    t.equal(await refreshStatus(single, earlier), 401, 'the earlier session is the one revoked')
  })

  t.test('2: a session that already ended by idleness does not count toward the limit', async (t) => {
    // On a clock of its own (a test clock stands still, so each login is moved 1 s apart: the
    // oldest session must be unambiguous).
    const clock = createTestClock()
    const app = await buildTestApp(t, { MAX_SESSIONS_PER_USER: 2 }, { database, clock })
    const user = await registerUser(app)
    const [active] = await loginAll(app, user, 1)
    clock.advance(1)
    const [idle] = await loginAll(app, user, 1)
    // Half an idle period later `active` (the oldest) is used and `idle` is not; another half later
    // `idle` has been unused for longer than SESSION_IDLE_TTL (default 86 400 s): it has ended.
    clock.advance(43_200)
    const stillActive = tokensOf(await refreshWithBody(app, active!.refreshToken), 'refresh active')
    clock.advance(43_200 + 60)
    const [fresh] = await loginAll(app, user, 1)
    t.equal(await refreshStatus(app, fresh!), 200, 'the new session lives')
    t.equal(await refreshStatus(app, stillActive), 200,
      'the one live older session is within the limit of 2 and survives')
    t.equal(await refreshStatus(app, idle!), 401, 'and the idle one has indeed ended')
  })
})
