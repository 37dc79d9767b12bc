import t from 'tap'
import { rotateRefreshToken } from '../../src/domain/sessions/rotation.js'
import { createSecretBox } from '../../src/lib/secret-box.js'
import { assertProblem, buildTestApp, openTestDatabase } from '../helper.js'
import { sessionRow, sha256 } from './session-helpers.js'
import { loginForTokens, refreshWithBody, registerUser, tokensOf } from '../support/auth-steps.js'

const DAY_MS = 86_400_000

t.test('rotation judges on the database\'s clock, audits grace hits, and never 500s in grace', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 10 }, { database })
  const user = await registerUser(app)
  const context = { ip: '203.0.113.7', userAgent: 'second-tab/1.0' }
  // This instance's wall clock, running ahead of the others' (a test clock would be the time everywhere).
  const skewed = (ms: number): typeof app.services.wiring.sessions => ({
    ...app.services.wiring.sessions, clock: { now: () => new Date(Date.now() + ms), wall: true }
  })

  t.test('an instance whose clock runs two days ahead does not find a fresh session idle', async (t) => {
    const first = await loginForTokens(app, user)
    const outcome = await rotateRefreshToken(skewed(2 * DAY_MS), first.refreshToken, context)
    t.equal(outcome.kind, 'rotated', 'the database, not the instance, says the session was used a moment ago')
  })

  t.test('a retry on an instance 30 s ahead is still within the grace window', async (t) => {
    const first = await loginForTokens(app, user)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    const retry = await rotateRefreshToken(skewed(30_000), first.refreshToken, context)
    t.equal(retry.kind, 'rotated', 'grace, not reuse')
    if (retry.kind === 'rotated') {
      t.equal(retry.grace, true)
      t.equal(retry.tokens.refreshToken, second.refreshToken, 'the session\'s current token')
    }
    t.equal((await sessionRow(database, first.sessionId)).revoked_at, null, 'nothing revoked')
  })

  t.test('each grace hit is audited with the presenter\'s address and user agent', async (t) => {
    const first = await loginForTokens(app, user)
    tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    const retry = await rotateRefreshToken(app.services.wiring.sessions, first.refreshToken, context)
    t.equal(retry.kind, 'rotated')
    const request = { refreshToken: first.refreshToken }
    const headers = { 'user-agent': 'third-tab/2.0' }
    const viaHttp = await app.inject({
      method: 'POST', url: '/auth/refresh', payload: request, headers, remoteAddress: '198.51.100.9'
    })
    t.equal(viaHttp.statusCode, 200, viaHttp.body)
    const hits = await database.db.selectFrom('audit_events').select(['ip', 'user_agent'])
      .where('session_id', '=', first.sessionId).where('type', '=', 'refresh_grace').orderBy('created_at').execute()
    t.same(hits, [
      { ip: '203.0.113.7', user_agent: 'second-tab/1.0' },
      { ip: '198.51.100.9', user_agent: 'third-tab/2.0' }
    ])
  })

  t.test('a successor ciphertext that cannot be opened is invalid (401), not a 500, and spares the ' +
    'family', async (t) => {
    const first = await loginForTokens(app, user)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    // Sealed under another secret: what a changed KEY_ENCRYPTION_SECRET leaves behind.
    const otherBox = createSecretBox('another-secret-of-at-least-32-characters!!', 'refresh-token-successor')
    const foreign = otherBox.seal(second.refreshToken, 'refresh-token:x')
    await database.db.updateTable('refresh_tokens').set({ successor_ciphertext: foreign })
      .where('token_hash', '=', sha256(first.refreshToken)).execute()
    assertProblem(t, await refreshWithBody(app, first.refreshToken), 401, 'invalid_refresh_token')
    await database.db.updateTable('refresh_tokens').set({ successor_ciphertext: 'v1.not-a-ciphertext' })
      .where('token_hash', '=', sha256(first.refreshToken)).execute()
    assertProblem(t, await refreshWithBody(app, first.refreshToken), 401, 'invalid_refresh_token')
    t.equal((await refreshWithBody(app, second.refreshToken)).statusCode, 200, 'the live token still works')
  })

  t.test('a missing successor ciphertext within the window is reuse (401), not a 500', async (t) => {
    const first = await loginForTokens(app, user)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    await database.db.updateTable('refresh_tokens').set({ successor_ciphertext: null })
      .where('token_hash', '=', sha256(first.refreshToken)).execute()
    assertProblem(t, await refreshWithBody(app, first.refreshToken), 401, 'refresh_token_reused')
    assertProblem(t, await refreshWithBody(app, second.refreshToken), 401, 'invalid_refresh_token')
  })

  t.test('a successor\'s ciphertext is cleared as soon as the successor is spent', async (t) => {
    const first = await loginForTokens(app, user)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    tokensOf(await refreshWithBody(app, second.refreshToken), 'rotate again')
    const row = await database.db.selectFrom('refresh_tokens').select('successor_ciphertext')
      .where('token_hash', '=', sha256(first.refreshToken)).executeTakeFirstOrThrow()
    t.equal(row.successor_ciphertext, null, 'the first token no longer carries the (spent) second one')
    assertProblem(t, await refreshWithBody(app, first.refreshToken), 401, 'refresh_token_reused')
  })
})
