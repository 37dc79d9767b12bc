import t from 'tap'
import { assertProblem, buildTestApp, openTestDatabase } from '../helper.js'
import { auditTypes, sessionRow, sha256, unspentTokenCount } from './session-helpers.js'
import { loginForTokens, me, refreshWithBody, registerUser, tokensOf } from '../support/auth-steps.js'

const CHAIN_LENGTH = 100
const REPLAYED = 37

t.test('a chain of rotations, then the replay of an early token', async (t) => {
  const database = await openTestDatabase(t)
  // No grace at all: any replay of a spent token is reuse.
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 0 }, { database })
  const user = await registerUser(app)
  const first = await loginForTokens(app, user)
  const other = await loginForTokens(app, user)

  // refreshTokens[i] is the token after i rotations; refreshTokens[0] came from the login.
  const refreshTokens = [first.refreshToken]
  const accessTokens = [first.accessToken]

  const chain = `${CHAIN_LENGTH} refreshes in a row each answer 200 with a new token and a working access token`
  t.test(chain, async (t) => {
    let failures = 0
    for (let i = 1; i <= CHAIN_LENGTH; i++) {
      const response = await refreshWithBody(app, refreshTokens[i - 1]!)
      if (response.statusCode !== 200) {
        failures++
        t.fail(`refresh #${i} answered ${response.statusCode} ${response.body}`)
        break
      }
      const next = tokensOf(response, `refresh #${i}`)
      if (next.sessionId !== first.sessionId) t.fail(`refresh #${i} moved to session ${next.sessionId}`)
      refreshTokens.push(next.refreshToken)
      accessTokens.push(next.accessToken)
      const profile = await me(app, next.accessToken)
      if (profile.statusCode !== 200 || profile.json().user.id !== user.id) {
        failures++
        t.fail(`the access token of refresh #${i} is refused by /auth/me: ${profile.statusCode}`)
      }
    }
    t.equal(failures, 0, 'every step succeeded')
    t.equal(refreshTokens.length, CHAIN_LENGTH + 1)
    t.equal(new Set(refreshTokens).size, refreshTokens.length, 'every refresh token is new')
    t.equal(new Set(accessTokens).size, accessTokens.length, 'every access token is new')
    for (const token of refreshTokens) {
      if (!/^[A-Za-z0-9_-]{43,}$/.test(token)) {
        t.fail(`a refresh token is not >= 256 bits of base64url: length ${token.length}`)
      }
    }
    t.equal(await unspentTokenCount(database, first.sessionId), 1, 'the session holds exactly one unspent token')
  })

  t.test('refresh tokens are stored only as SHA-256 hashes, never in any column', async (t) => {
    const tokenRows = await database.db.selectFrom('refresh_tokens').selectAll()
      .where('session_id', '=', first.sessionId).execute()
    t.equal(tokenRows.length, CHAIN_LENGTH + 1, 'one row per token of the family')
    t.same(new Set(tokenRows.map((row) => row.token_hash)), new Set(refreshTokens.map(sha256)),
      'token_hash is sha256(token), base64url')
    const stored = JSON.stringify([
      tokenRows,
      await database.db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).execute(),
      await database.db.selectFrom('audit_events').selectAll().where('user_id', '=', user.id).execute()
    ])
    const leaked = refreshTokens.filter((token) => stored.includes(token))
    t.same(leaked, [], 'no refresh token appears in plain text in refresh_tokens, sessions or audit_events')
    // Only the token spent last may still need its successor (grace); every older ciphertext is
    // cleared the moment its successor is spent in turn.
    const sealed = tokenRows.filter((row) => row.successor_ciphertext !== null)
    t.equal(sealed.length, 1, 'only the last spent token keeps its successor, encrypted')
    t.not(sealed[0]?.spent_at ?? null, null, 'and it is a spent one')
  })

  t.test(`replaying token #${REPLAYED} is reuse: 401 refresh_token_reused and the whole family dies`, async (t) => {
    const replay = await refreshWithBody(app, refreshTokens[REPLAYED]!)
    assertProblem(t, replay, 401, 'refresh_token_reused')
    t.notMatch(replay.body, refreshTokens[REPLAYED]!, 'the error does not echo the token')

    const newest = await refreshWithBody(app, refreshTokens[CHAIN_LENGTH]!)
    assertProblem(t, newest, 401, 'invalid_refresh_token')

    const profile = await me(app, accessTokens[CHAIN_LENGTH]!)
    assertProblem(t, profile, 401, 'invalid_token')
    t.match(profile.headers['www-authenticate'], /^Bearer error="invalid_token"/)

    const session = await sessionRow(database, first.sessionId)
    t.not(session.revoked_at, null, 'the session is revoked')
    t.equal(session.revoked_reason, 'reuse_detected')
    t.ok((await auditTypes(database, { sessionId: first.sessionId })).includes('refresh_reuse_detected'),
      'an audit event refresh_reuse_detected is recorded')

    const again = await refreshWithBody(app, refreshTokens[REPLAYED]!)
    t.equal(again.statusCode, 401, 'the replayed token stays refused')
  })

  t.test('another session of the same user is unaffected', async (t) => {
    const response = await refreshWithBody(app, other.refreshToken)
    t.equal(response.statusCode, 200)
    t.equal(response.json().sessionId, other.sessionId)
    t.equal((await me(app, response.json().accessToken)).statusCode, 200)
    t.equal((await sessionRow(database, other.sessionId)).revoked_at, null)
    t.notOk((await auditTypes(database, { sessionId: other.sessionId })).includes('refresh_reuse_detected'))
  })
})

t.test('a refresh token that was never issued is 401 invalid_refresh_token', async (t) => {
  const app = await buildTestApp(t)
  for (const token of ['A'.repeat(43), 'not a token', 'x'.repeat(512)]) {
    assertProblem(t, await refreshWithBody(app, token), 401, 'invalid_refresh_token')
  }
  assertProblem(t, await app.inject({ method: 'POST', url: '/auth/refresh' }), 401, 'invalid_refresh_token')
})
