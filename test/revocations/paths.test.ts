import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, openTestDatabase, postJson } from '../helper.js'
import { postForm } from '../oauth/oauth-helpers.js'
import type { DatabaseHandle } from '../../src/db/connect.js'
import { bearer, type BodyTokens, loginForTokens, refreshWithBody, registerUser } from '../support/auth-steps.js'

/*
 * Every way a session can be revoked, driven over HTTP, must leave exactly one revocation record
 * for that session, written with the revocation (same reason, same time). The last two tests make a
 * new path fail here: no code outside the sessions repository may set `revoked_at`, and every
 * caller of the repository's revoking functions must be listed in KNOWN_CALLERS (and so be covered
 * by a test above).
 */

const database = await openTestDatabase(t)
const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 0 }, { database })
const limited = await buildTestApp(t, { MAX_SESSIONS_PER_USER: 2 }, { database })

async function recordsOf (db: DatabaseHandle, sessionId: string): Promise<Array<{ reason: string, revoked_at: Date }>> {
  return await db.db.selectFrom('session_revocations').select(['reason', 'revoked_at'])
    .where('session_id', '=', sessionId).execute()
}

async function assertRecorded (t: Test, sessionId: string, reason: string): Promise<void> {
  const records = await recordsOf(database, sessionId)
  t.equal(records.length, 1, `one record for ${sessionId}`)
  t.equal(records[0]?.reason, reason, 'with the reason of the revocation')
  const session = await database.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason'])
    .where('id', '=', sessionId).executeTakeFirstOrThrow()
  t.not(session.revoked_at, null, 'and the session is revoked')
  t.equal(records[0]?.revoked_at.getTime(), session.revoked_at?.getTime(), 'at the same instant')
}

async function assertNotRecorded (t: Test, sessionId: string): Promise<void> {
  t.same(await recordsOf(database, sessionId), [], `no record for the live session ${sessionId}`)
}

async function session (on: FastifyInstance = app, user?: { email: string, password: string }): Promise<BodyTokens> {
  return await loginForTokens(on, user ?? await registerUser(on))
}

t.test('POST /auth/logout with the refresh token', async (t) => {
  const s = await session()
  t.equal((await postJson(app, '/auth/logout', { refreshToken: s.refreshToken })).statusCode, 204)
  await assertRecorded(t, s.sessionId, 'logout')
  t.equal((await postJson(app, '/auth/logout', { refreshToken: s.refreshToken })).statusCode, 204)
  t.equal((await recordsOf(database, s.sessionId)).length, 1, 'logging out again records nothing more')
})

t.test('POST /auth/logout with the access token', async (t) => {
  const s = await session()
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(s.accessToken) })).statusCode, 204)
  await assertRecorded(t, s.sessionId, 'logout')
})

t.test('POST /auth/logout-all records every session of the user', async (t) => {
  const user = await registerUser(app)
  const sessions = [await session(app, user), await session(app, user), await session(app, user)]
  const stranger = await session()
  const logoutAll = await app.inject({
    method: 'POST', url: '/auth/logout-all', headers: bearer(sessions[0]!.accessToken)
  })
  t.equal(logoutAll.statusCode, 204)
  for (const s of sessions) await assertRecorded(t, s.sessionId, 'logout_all')
  await assertNotRecorded(t, stranger.sessionId)
})

t.test('POST /auth/password records every other session, not the caller\'s', async (t) => {
  const user = await registerUser(app)
  const [caller, other] = [await session(app, user), await session(app, user)]
  const response = await postJson(app, '/auth/password', {
    currentPassword: user.password, newPassword: 'a different long passphrase 77'
  }, bearer(caller.accessToken))
  t.equal(response.statusCode, 204)
  await assertRecorded(t, other.sessionId, 'password_changed')
  await assertNotRecorded(t, caller.sessionId)
})

t.test('DELETE /auth/sessions/:id', async (t) => {
  const user = await registerUser(app)
  const [caller, other] = [await session(app, user), await session(app, user)]
  const revokeOther = await app.inject({
    method: 'DELETE', url: `/auth/sessions/${other.sessionId}`, headers: bearer(caller.accessToken)
  })
  t.equal(revokeOther.statusCode, 204)
  await assertRecorded(t, other.sessionId, 'session_revoked')
  const stranger = await session()
  const revokeStranger = await app.inject({
    method: 'DELETE', url: `/auth/sessions/${stranger.sessionId}`, headers: bearer(caller.accessToken)
  })
  t.equal(revokeStranger.statusCode, 404)
  await assertNotRecorded(t, stranger.sessionId)
})

t.test('POST /oauth/revoke with a refresh token', async (t) => {
  const s = await session()
  const revoke = await postForm(app, '/oauth/revoke', { token: s.refreshToken, token_type_hint: 'refresh_token' })
  t.equal(revoke.statusCode, 200)
  await assertRecorded(t, s.sessionId, 'token_revoked')
})

t.test('POST /oauth/revoke with an access token revokes its session', async (t) => {
  const s = await session()
  const revoke = await postForm(app, '/oauth/revoke', { token: s.accessToken, token_type_hint: 'access_token' })
  t.equal(revoke.statusCode, 200)
  await assertRecorded(t, s.sessionId, 'token_revoked')
  t.equal((await refreshWithBody(app, s.refreshToken)).statusCode, 401, 'its refresh token is dead too')
  t.equal((await app.inject({ url: '/auth/me', headers: bearer(s.accessToken) })).statusCode, 401,
    'and the access token')
})

t.test('POST /oauth/revoke with a forged or tampered access token revokes nothing', async (t) => {
  const s = await session()
  const [header, payload, signature] = s.accessToken.split('.') as [string, string, string]
  const flipped = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
  t.equal((await postForm(app, '/oauth/revoke', { token: flipped })).statusCode, 200)
  t.equal((await postForm(app, '/oauth/revoke', { token: 'a.b.c' })).statusCode, 200)
  await assertNotRecorded(t, s.sessionId)
})

t.test('refresh-token reuse detection', async (t) => {
  const s = await session()
  t.equal((await refreshWithBody(app, s.refreshToken)).statusCode, 200)
  t.equal((await refreshWithBody(app, s.refreshToken)).statusCode, 401)
  await assertRecorded(t, s.sessionId, 'reuse_detected')
})

t.test('MAX_SESSIONS_PER_USER eviction', async (t) => {
  const user = await registerUser(limited)
  const oldest = await session(limited, user)
  const middle = await session(limited, user)
  await session(limited, user)
  await assertRecorded(t, oldest.sessionId, 'session_limit')
  await assertNotRecorded(t, middle.sessionId)
})

t.test('no revoked session in the database lacks its record, and no record lacks its revocation', async (t) => {
  const unrecorded = await database.db.selectFrom('sessions').select('id')
    .where('revoked_at', 'is not', null)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('session_revocations').select('seq')
      .whereRef('session_revocations.session_id', '=', 'sessions.id')))).execute()
  t.same(unrecorded, [])
  const orphans = await database.db.selectFrom('session_revocations').select('session_id')
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('sessions').select('id')
      .whereRef('sessions.id', '=', 'session_revocations.session_id')
      .where('sessions.revoked_at', 'is not', null)))).execute()
  t.same(orphans, [])
})

const SRC = new URL('../../src/', import.meta.url).pathname
const sourceFiles = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name)
  return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
})

t.test('only the sessions repository sets revoked_at on sessions', async (t) => {
  const writers = sourceFiles(SRC)
    .filter((file) => /updateTable\('sessions'\)[\s\S]*revoked_at/.test(readFileSync(file, 'utf8')))
  t.same(writers.map((file) => relative(SRC, file)), ['db/repositories/sessions.ts'])
})

// Each caller of the revoking repository functions, and the paths above that drive it. A new caller
// is a new revocation path: give it a test above, then list it here.
const KNOWN_CALLERS = [
  'domain/credentials/change-password.ts', // POST /auth/password
  'domain/sessions/revocation.ts', // logout (both), logout-all, DELETE /auth/sessions/:id, /oauth/revoke
  'domain/sessions/rotation.ts', // reuse detection
  'domain/sessions/start-session.ts' // MAX_SESSIONS_PER_USER eviction
]

t.test('every caller of revokeSessions / revokeSessionsOfUser is a path tested above', async (t) => {
  const callers = sourceFiles(SRC)
    .filter((file) => /\brevokeSessions(OfUser)?\(/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(SRC, file))
    .filter((file) => file !== 'db/repositories/sessions.ts')
    .sort()
  t.same(callers, KNOWN_CALLERS)
})
