import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { decodeProtectedHeader } from 'jose'
import { buildTestApp, openTestDatabase, usingPostgres } from '../helper.js'
import { anHourAgo, setKeyPublication } from '../support/key-publication.js'
import { type BodyTokens, loginForTokens, me, refreshWithBody, registerUser } from '../support/auth-steps.js'

/*
 * The operator runs several instances behind a load balancer. Two instances of
 * the app with the same configuration share one database (two connection pools on PostgreSQL; one
 * embedded PGlite shared in-process otherwise): whatever one issues, the other honours, and a key
 * rotation made on one is followed by the other without invalidating any live token.
 */

const CONFIG = { ISSUER: 'http://issuer.test', AUDIENCE: 'http://api.test' }

// Two pools on PostgreSQL. PGlite is one connection whose transactions are serialised per
// handle, so both instances must share one handle (two handles would interleave transactions).
const databaseA = await openTestDatabase(t)
const databaseB = usingPostgres ? await openTestDatabase(t) : databaseA
// Started together: both race to create the key ring, which the advisory lock makes agree.
const [a, b] = await Promise.all([
  buildTestApp(t, CONFIG, { database: databaseA }),
  buildTestApp(t, CONFIG, { database: databaseB })
]) as [FastifyInstance, FastifyInstance]

const kidOf = (token: string): string | undefined => decodeProtectedHeader(token).kid

async function jwks (app: FastifyInstance): Promise<{ keys: Array<{ kid: string }>, etag: string | undefined }> {
  const response = await app.inject('/.well-known/jwks.json')
  return { keys: response.json().keys, etag: response.headers.etag as string | undefined }
}

t.comment(`two instances on ${usingPostgres ? 'PostgreSQL (two pools)' : 'one shared PGlite'}`)

t.test('both instances publish the same JWKS and sign with the same current key', async (t) => {
  const [fromA, fromB] = await Promise.all([jwks(a), jwks(b)])
  t.equal(fromA.keys.length, 2, 'current + next, not one ring per instance')
  t.same(fromB.keys, fromA.keys, 'identical key sets')
  t.equal(fromB.etag, fromA.etag, 'identical ETags, so a verifier caching behind the load balancer revalidates cleanly')
  t.equal(b.keys.signingKey().kid, a.keys.signingKey().kid, 'the same signing kid')
})

t.test('a login on A is honoured on B, and B rotates A\'s refresh token', async (t) => {
  const user = await registerUser(a)
  const fromA = await loginForTokens(a, user)

  const meOnB = await me(b, fromA.accessToken)
  t.equal(meOnB.statusCode, 200, 'A\'s access token verifies on B')
  t.equal(meOnB.json().user.id, user.id, 'for the same user')

  const refreshedOnB = await refreshWithBody(b, fromA.refreshToken)
  t.equal(refreshedOnB.statusCode, 200, `B refreshes A's refresh token (${refreshedOnB.body.slice(0, 200)})`)
  const fromB = refreshedOnB.json() as BodyTokens
  t.equal(fromB.sessionId, fromA.sessionId, 'the same session continues')
  t.not(fromB.refreshToken, fromA.refreshToken, 'rotated')
  t.equal((await me(a, fromB.accessToken)).statusCode, 200, 'B\'s new access token verifies on A')

  // Within the grace window the token just spent is a benign retry on any instance: it gets the
  // session's current token back, not a fork.
  const retriedOnA = await refreshWithBody(a, fromA.refreshToken)
  t.equal(retriedOnA.statusCode, 200, 'A accepts the just-spent token within the grace window')
  t.equal(retriedOnA.json().refreshToken, fromB.refreshToken, 'and returns the refresh token B issued')

  // Once the session has moved on, the old token is a reuse, whichever instance sees it.
  const rotatedAgainOnB = await refreshWithBody(b, fromB.refreshToken)
  t.equal(rotatedAgainOnB.statusCode, 200, 'B rotates once more')
  const reusedOnA = await refreshWithBody(a, fromA.refreshToken)
  t.equal(reusedOnA.statusCode, 401, 'A detects the reuse of a token spent two rotations ago')
  t.equal(reusedOnA.json().code, 'refresh_token_reused', 'code refresh_token_reused')
  const newestOnB = await refreshWithBody(b, (rotatedAgainOnB.json() as BodyTokens).refreshToken)
  t.equal(newestOnB.statusCode, 401, 'and the newest token of the family stops working on B')
})

t.test('a rotation on A is followed by B; tokens from before it keep working on both', async (t) => {
  const user = await registerUser(a)
  const beforeFromA = await loginForTokens(a, user)
  const beforeFromB = await loginForTokens(b, user)
  const oldKid = a.keys.signingKey().kid
  const publishedNext = (await jwks(a)).keys.map((key) => key.kid).find((kid) => kid !== oldKid)
  t.equal(kidOf(beforeFromA.accessToken), oldKid, 'A signs with the current kid')
  t.equal(kidOf(beforeFromB.accessToken), oldKid, 'so does B')

  // Only a next key published for the JWKS max-age may sign: date its publication back an hour.
  await setKeyPublication(databaseA.db, anHourAgo())
  await a.keys.rotate()
  const newKid = a.keys.signingKey().kid
  t.not(newKid, oldKid, 'A signs with a new key')
  t.equal(newKid, publishedNext, 'the new key is the next key both instances already published')

  // Before B reloads: it already knows the new kid (it was the published next key).
  const rotatedFromA = await loginForTokens(a, user)
  t.equal(kidOf(rotatedFromA.accessToken), newKid, 'A\'s next login is signed with the new kid')
  t.equal((await me(b, rotatedFromA.accessToken)).statusCode, 200,
    'B verifies A\'s new-key token before it has reloaded')
  const lateFromB = await loginForTokens(b, user)
  t.equal(kidOf(lateFromB.accessToken), oldKid, 'B still signs with the old key until it reloads')
  t.equal((await me(a, lateFromB.accessToken)).statusCode, 200,
    'and A still accepts that key (retired, still published)')

  await b.keys.reload()
  t.equal(b.keys.signingKey().kid, newKid, 'after reloading, B signs with the same new kid')
  const afterFromB = await loginForTokens(b, user)
  t.equal(kidOf(afterFromB.accessToken), newKid, 'B\'s next login too')
  t.equal((await me(a, afterFromB.accessToken)).statusCode, 200, 'B\'s new-key token verifies on A')

  const [fromA, fromB] = await Promise.all([jwks(a), jwks(b)])
  t.same(fromB.keys, fromA.keys, 'both publish the same JWKS again')
  t.equal(fromB.etag, fromA.etag, 'with the same ETag')
  const kids = fromA.keys.map((key) => key.kid)
  t.ok(kids.includes(oldKid), 'the retired key stays published')
  t.ok(kids.includes(newKid), 'the new current key is published')
  t.equal(kids.length, 3, 'retired + current + a new next key')

  for (const [label, token] of [['A', beforeFromA.accessToken], ['B', beforeFromB.accessToken]] as const) {
    t.equal((await me(a, token)).statusCode, 200, `a token ${label} signed before the rotation still works on A`)
    t.equal((await me(b, token)).statusCode, 200, `a token ${label} signed before the rotation still works on B`)
  }
  const refreshedAcross = await refreshWithBody(b, beforeFromA.refreshToken)
  t.equal(refreshedAcross.statusCode, 200, 'a session from before the rotation refreshes on B')
  t.equal(kidOf((refreshedAcross.json() as BodyTokens).accessToken), newKid, 'and gets a token signed with the new key')
})

t.test('a session revoked on B: refused on B at once, and on A (which had just used it) within a second', async (t) => {
  const user = await registerUser(a)
  const session = await loginForTokens(a, user)
  // A reads the session as live and keeps that verdict for a moment; B has seen it as well.
  t.equal((await me(a, session.accessToken)).statusCode, 200, 'A answers /auth/me while the session is live')
  t.equal((await me(b, session.accessToken)).statusCode, 200, 'and so does B')

  const logout = await b.inject({
    method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${session.accessToken}` }
  })
  t.equal(logout.statusCode, 204, 'logged out on B')
  const loggedOutAt = Date.now()
  t.equal((await me(b, session.accessToken)).statusCode, 401, 'B, which revoked it, refuses the token at once')

  let refusedAfter: number | undefined
  while (Date.now() - loggedOutAt < 3000) {
    if ((await me(a, session.accessToken)).statusCode === 401) { refusedAfter = Date.now() - loggedOutAt; break }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(refusedAfter !== undefined && refusedAfter < 1000, `A refuses it within a second (after ${refusedAfter} ms)`)
  t.equal((await me(a, session.accessToken)).statusCode, 401, 'and keeps refusing it')
})
