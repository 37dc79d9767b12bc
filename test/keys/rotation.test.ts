import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/database.js'
import { findKeyInState, findPublishedKeys } from '../../src/db/repositories/signing-keys.js'
import {
  ensureKeyRing, isRotationDue, rotateKeyRing, rotateKeyRingIfDue, type KeyRingDeps
} from '../../src/domain/keys/key-ring.js'
import { KeyStore } from '../../src/domain/keys/key-store.js'
import type { Clock } from '../../src/lib/clock.js'
import { createSecretBox } from '../../src/lib/secret-box.js'
import { signingKeyAad } from '../../src/domain/keys/signing-key.js'
import {
  DEFAULT_JWKS_MAX_AGE_SECONDS, KEY_RELOAD_INTERVAL_SECONDS, minPublishedSeconds
} from '../../src/domain/keys/key-ring-deps.js'

const MIN_PUBLISHED_SECONDS = minPublishedSeconds(DEFAULT_JWKS_MAX_AGE_SECONDS)
import { buildTestApp, openTestDatabase, TEST_ENV, testConfig } from '../helper.js'
import { ALGORITHMS, TEST_AUDIENCE, TEST_ISSUER, type Algorithm } from '../tokens/token-fixtures.js'
import { anHourAgo, setKeyPublication } from '../support/key-publication.js'
import { bearerValue, loginForTokens, meWith, registerAndLogin } from '../support/auth-steps.js'

/*
 * The JWKS publishes public keys only, always the next key beside the
 * current one; rotation promotes the already-published next key; retired keys stay published
 * until every token they signed has expired; all instances agree through the database; private
 * keys are encrypted at rest with KEY_ENCRYPTION_SECRET.
 */

const DAY_MS = 86_400_000
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']
const EXPECTED_KEY: Record<Algorithm, { kty: string, crv?: string, members: string[] }> = {
  ES256: { kty: 'EC', crv: 'P-256', members: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'] },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['alg', 'crv', 'kid', 'kty', 'use', 'x'] },
  RS256: { kty: 'RSA', members: ['alg', 'e', 'kid', 'kty', 'n', 'use'] }
}

const database = await openTestDatabase(t)
const db: Kysely<Database> = database.db
const secretBox = createSecretBox(TEST_ENV.KEY_ENCRYPTION_SECRET!, 'signing-keys')

const fixedClock = (date: Date): Clock => ({ now: () => date })
const keyRingDeps = (clock: Clock, alg: Algorithm = 'ES256'): KeyRingDeps => ({
  db,
  clock,
  secretBox,
  alg,
  retiredKeyRetentionSeconds: 900 + 2 * KEY_RELOAD_INTERVAL_SECONDS + 60,
  minPublishedSeconds: MIN_PUBLISHED_SECONDS
})

/**
 * Rotation promotes only a next key published for MIN_PUBLISHED_SECONDS (test/keys/key-promotion.test.ts):
 * tests that rotate right after start date the keys' publication back by an hour first.
 */
async function publishedAnHourAgo (): Promise<void> {
  await setKeyPublication(db, anHourAgo())
}

/** Every test that counts keys starts from an empty key ring (apps of earlier tests are closed). */
async function emptyKeyRing (): Promise<void> {
  await db.deleteFrom('signing_keys').execute()
}

async function getJwks (app: FastifyInstance, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers })
}

const kidsOf = (response: LightMyRequestResponse): string[] => (response.json().keys as JWK[]).map((key) => key.kid!)

async function keyRow (kid: string) {
  return await db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow()
}

for (const alg of ALGORITHMS) {
  t.test(`${alg}: after start the JWKS publishes exactly the current and the next key, ` +
    'public members only', async (t) => {
    await emptyKeyRing()
    const app = await buildTestApp(t, { JWT_ALG: alg }, { database })
    const response = await getJwks(app)
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^application\/json/)
    const { keys } = response.json() as { keys: JWK[] }
    t.equal(keys.length, 2, 'current + next')
    const current = app.keys.signingKey().kid
    t.ok(keys.some((key) => key.kid === current), 'the current signing key is published')
    t.equal(new Set(keys.map((key) => key.kid)).size, 2, 'the next key is another key')

    const expected = EXPECTED_KEY[alg]
    for (const key of keys) {
      t.same(Object.keys(key).sort(), expected.members, `${key.kid}: exactly the public members`)
      t.equal(key.kty, expected.kty)
      if (expected.crv !== undefined) t.equal(key.crv, expected.crv)
      t.equal(key.alg, alg)
      t.equal(key.use, 'sig')
      t.match(key.kid, /^[\w-]{16,}$/)
      for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `${key.kid}: no "${member}"`)
      const imported = await importJWK(key, alg)
      t.equal((imported as { type?: string }).type, 'public', 'imports as a public key')
    }
  })

  t.test(`${alg}: private keys are stored encrypted with KEY_ENCRYPTION_SECRET`, async (t) => {
    await emptyKeyRing()
    await buildTestApp(t, { JWT_ALG: alg }, { database })
    const rows = await db.selectFrom('signing_keys').selectAll().execute()
    t.equal(rows.length, 2)
    for (const row of rows) {
      t.match(row.private_jwk_ciphertext, /^v2\.[\w-]+$/, 'a versioned ciphertext, bound to its row')
      t.notOk(row.private_jwk_ciphertext.includes('"d"'), 'no plaintext private member')
      t.notOk(JSON.stringify(row.public_jwk).includes('"d"'), 'the public JWK column has no private member')
      const privateJwk = JSON.parse(secretBox.open(row.private_jwk_ciphertext, signingKeyAad(row.kid))) as JWK
      t.type(privateJwk.d, 'string', 'the secret box opens to the private JWK')
      for (const member of ['x', 'y', 'n', 'e', 'crv']) {
        t.equal(privateJwk[member as keyof JWK], row.public_jwk[member], `its ${member} matches the published key`)
      }
      const otherBox = createSecretBox('another-key-encryption-secret-0123456789', 'signing-keys')
      t.throws(() => otherBox.open(row.private_jwk_ciphertext, signingKeyAad(row.kid)), 'another secret cannot open it')
    }
  })
}

t.test('the JWKS is cacheable and revalidates with its ETag', async (t) => {
  await emptyKeyRing()
  const app = await buildTestApp(t, {}, { database })
  const first = await getJwks(app)
  t.equal(first.statusCode, 200)
  t.match(first.headers['cache-control'], /\bpublic\b/)
  const maxAge = Number(/max-age=(\d+)/.exec(String(first.headers['cache-control']))?.[1])
  t.ok(maxAge > 0, `max-age=${maxAge}`)
  const etag = String(first.headers.etag)
  t.match(etag, /^"[^"]+"$/, 'a strong, quoted ETag')

  const revalidated = await getJwks(app, { 'if-none-match': etag })
  t.equal(revalidated.statusCode, 304)
  t.equal(revalidated.body, '', '304 has no body')
  t.equal(revalidated.headers.etag, etag)
  t.match(revalidated.headers['cache-control'], /max-age=\d+/, 'the 304 refreshes the cache lifetime')
  t.equal((await getJwks(app, { 'if-none-match': `W/${etag}` })).statusCode, 304, 'weak comparison (RFC 9110 §13.1.2)')
  t.equal((await getJwks(app, { 'if-none-match': `"something-else", ${etag}` })).statusCode, 304, 'a list of tags')
  t.equal((await getJwks(app, { 'if-none-match': '"something-else"' })).statusCode, 200,
    'another tag gets the document')
  t.equal((await getJwks(app)).headers.etag, etag, 'the ETag is stable while the keys are')

  await publishedAnHourAgo()
  await app.keys.rotate()
  const rotated = await getJwks(app)
  t.not(rotated.headers.etag, etag, 'rotation changes the ETag')
  const stale = await getJwks(app, { 'if-none-match': etag })
  t.equal(stale.statusCode, 200, 'the old ETag no longer matches')
  t.equal(stale.json().keys.length, 3)
})

t.test('rotation promotes the published next key and keeps the old key until its tokens expire', async (t) => {
  await emptyKeyRing()
  const app = await buildTestApp(t, {}, { database })
  const before = kidsOf(await getJwks(app))
  const oldKid = app.keys.signingKey().kid
  const nextKid = before.find((kid) => kid !== oldKid)!
  const session = await registerAndLogin(app)
  t.equal(decodeProtectedHeader(session.accessToken).kid, oldKid, 'tokens are signed with the current key')

  await publishedAnHourAgo()
  await app.keys.rotate()

  t.equal(app.keys.signingKey().kid, nextKid, 'the previously published next key signs now')
  const fresh = await loginForTokens(app, session.user)
  t.equal(decodeProtectedHeader(fresh.accessToken).kid, nextKid, 'new tokens carry the promoted kid')

  const after = await getJwks(app)
  const afterKids = kidsOf(after)
  t.equal(afterKids.length, 3, 'retired + current + a new next key')
  t.ok(afterKids.includes(oldKid), 'the retired key is still published')
  t.ok(afterKids.includes(nextKid))
  const newNext = afterKids.find((kid) => !before.includes(kid))
  t.ok(newNext !== undefined, 'a new next key is published')
  t.equal((await keyRow(newNext!)).state, 'next')

  const jwks = createLocalJWKSet(after.json())
  const options = { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, typ: 'at+jwt' }
  const { payload } = await jwtVerify(session.accessToken, jwks, options)
  t.equal(payload.sub, session.user.id, 'a token of the retired key still verifies against the JWKS')
  await jwtVerify(fresh.accessToken, jwks, options)
  t.equal((await meWith(app, bearerValue(session.accessToken))).statusCode, 200, 'and still works on /auth/me')
  t.equal((await meWith(app, bearerValue(fresh.accessToken))).statusCode, 200)

  const retired = await keyRow(oldKid)
  t.equal(retired.state, 'retired')
  const windowSeconds = (retired.publish_until!.getTime() - retired.retired_at!.getTime()) / 1000
  t.ok(windowSeconds >= 900 + KEY_RELOAD_INTERVAL_SECONDS,
    `published ${windowSeconds}s after retirement: at least the token lifetime plus one reload interval ` +
    '(a lagging instance may still sign with it)')
})

t.test('a retired key leaves the published set when its window ends, and not before', async (t) => {
  await emptyKeyRing()
  const app = await buildTestApp(t, {}, { database })
  const oldKid = app.keys.signingKey().kid
  await publishedAnHourAgo()
  await app.keys.rotate()
  const publishUntil = (await keyRow(oldKid)).publish_until!
  const at = (offsetMs: number): Date => new Date(publishUntil.getTime() + offsetMs)
  const publishedAt = async (date: Date): Promise<string[]> => (await findPublishedKeys(db, date)).map((row) => row.kid)

  t.ok((await publishedAt(new Date())).includes(oldKid), 'published now')
  t.ok((await publishedAt(at(-1000))).includes(oldKid), 'published one second before the end of its window')
  t.notOk((await publishedAt(at(0))).includes(oldKid), 'gone when the window ends')
  t.notOk((await publishedAt(at(1000))).includes(oldKid), 'gone after')
  t.equal((await publishedAt(at(1000))).length, 2, 'current and next stay')

  const storeAt = async (date: Date): Promise<string[]> => {
    const store = new KeyStore(keyRingDeps(fixedClock(date)))
    await store.reload()
    return store.jwks().document.keys.map((key) => key.kid!)
  }
  t.ok((await storeAt(at(-1000))).includes(oldKid), 'a key store reloading inside the window publishes it')
  t.notOk((await storeAt(at(1000))).includes(oldKid), 'a key store reloading after the window does not')

  t.ok(await db.selectFrom('signing_keys').select('kid').where('kid', '=', oldKid).executeTakeFirst(),
    'the row is kept until a later rotation')
  await publishedAnHourAgo()
  const later = await rotateKeyRing(keyRingDeps(fixedClock(at(1000))))
  t.notOk(await db.selectFrom('signing_keys').select('kid').where('kid', '=', oldKid).executeTakeFirst(),
    'the next rotation after the window deletes it')
  t.equal((await keyRow(later.retired!)).state, 'retired', 'while the key this rotation retired is kept')
})

t.test('two instances on one database agree on the key ring', async (t) => {
  await emptyKeyRing()
  const [appA, appB] = await Promise.all([buildTestApp(t, {}, { database }), buildTestApp(t, {}, { database })])
  const rows = await db.selectFrom('signing_keys').select(['kid', 'state']).execute()
  t.same(rows.map((row) => row.state).sort(), ['current', 'next'], 'starting together, they created one key ring')
  t.equal(appA.keys.signingKey().kid, appB.keys.signingKey().kid)
  const [jwksA, jwksB] = [await getJwks(appA), await getJwks(appB)]
  t.same(jwksA.json(), jwksB.json(), 'the same JWKS')
  t.equal(jwksA.headers.etag, jwksB.headers.etag, 'the same ETag, so caches behind a load balancer agree')

  const session = await registerAndLogin(appA)
  t.equal((await meWith(appB, bearerValue(session.accessToken))).statusCode, 200, 'a token of A works on B')

  await publishedAnHourAgo()
  await appA.keys.rotate()
  const fromA = await loginForTokens(appA, session.user)
  t.equal((await meWith(appB, bearerValue(fromA.accessToken))).statusCode, 200,
    'B accepts the promoted key before it reloads: it was already published as next')

  await appB.keys.reload()
  t.equal(appB.keys.signingKey().kid, appA.keys.signingKey().kid, 'after reloading, both sign with the same kid')
  const [afterA, afterB] = [await getJwks(appA), await getJwks(appB)]
  t.same(afterA.json(), afterB.json())
  t.equal(afterA.headers.etag, afterB.headers.etag)
  t.equal((await meWith(appA, bearerValue(session.accessToken))).statusCode, 200,
    'tokens of the retired key still work on A')
  t.equal((await meWith(appB, bearerValue(session.accessToken))).statusCode, 200, 'and on B')
})

t.test('isRotationDue: the current key is due once it has been active for KEY_ROTATION_DAYS', async (t) => {
  const activated = new Date('2025-01-01T00:00:00Z')
  const key = { activated_at: activated, created_at: new Date('2024-12-01T00:00:00Z') }
  const cases: Array<[string, Date, number, boolean]> = [
    ['one millisecond short of 30 days', new Date(activated.getTime() + 30 * DAY_MS - 1), 30, false],
    ['exactly 30 days', new Date(activated.getTime() + 30 * DAY_MS), 30, true],
    ['past 30 days', new Date(activated.getTime() + 45 * DAY_MS), 30, true],
    ['rotation disabled (0 days), years later', new Date(activated.getTime() + 3650 * DAY_MS), 0, false],
    ['one day, after a day', new Date(activated.getTime() + DAY_MS), 1, true]
  ]
  for (const [name, now, days, due] of cases) t.equal(isRotationDue(key, now, days), due, name)
  const neverActivated = { activated_at: null, created_at: activated }
  t.equal(isRotationDue(neverActivated, new Date(activated.getTime() + 30 * DAY_MS), 30), true,
    'without activated_at, counts from created_at')
  t.equal(isRotationDue(neverActivated, new Date(activated.getTime() + DAY_MS), 30), false)
})

t.test('rotateKeyRingIfDue rotates only when due, and two concurrent calls rotate once', async (t) => {
  await emptyKeyRing()
  const t0 = new Date()
  const at = (days: number): KeyRingDeps => keyRingDeps(fixedClock(new Date(t0.getTime() + days * DAY_MS)))
  await ensureKeyRing(at(0))
  const currentKid = async (): Promise<string> => (await findKeyInState(db, 'current'))!.kid
  const first = await currentKid()
  const firstNext = (await findKeyInState(db, 'next'))!.kid

  t.equal(await rotateKeyRingIfDue(at(365), 0), false, 'KEY_ROTATION_DAYS=0 never rotates')
  t.equal(await rotateKeyRingIfDue(at(29), 30), false, 'not due after 29 days')
  t.equal(await currentKid(), first, 'nothing changed')

  t.equal(await rotateKeyRingIfDue(at(30), 30), true, 'due after 30 days')
  t.equal(await currentKid(), firstNext, 'the next key was promoted')
  t.equal(await rotateKeyRingIfDue(at(31), 30), false, 'the new key is not due a day later')

  const nextBeforeRace = (await findKeyInState(db, 'next'))!.kid
  const raceDate = at(61).clock.now()
  const outcomes = await Promise.all([rotateKeyRingIfDue(at(61), 30), rotateKeyRingIfDue(at(61), 30)])
  t.same(outcomes.sort(), [false, true], 'exactly one of two racing instances rotates')
  t.equal(await currentKid(), nextBeforeRace, 'the key published as next signs: it was promoted once, not twice')
  const retiredInRace = await db.selectFrom('signing_keys').select('kid').where('retired_at', '=', raceDate).execute()
  t.equal(retiredInRace.length, 1, 'one key retired, not two')
  const states = (await db.selectFrom('signing_keys').select('state').execute()).map((row) => row.state)
  t.equal(states.filter((state) => state === 'current').length, 1)
  t.equal(states.filter((state) => state === 'next').length, 1)
})

t.test('an instance starting on an overdue key ring rotates it at start, ' +
  'so frequent restarts cannot postpone rotation', async (t) => {
  await emptyKeyRing()
  await ensureKeyRing(keyRingDeps(fixedClock(new Date(Date.now() - 31 * DAY_MS))))
  const overdue = (await findKeyInState(db, 'current'))!.kid
  const next = (await findKeyInState(db, 'next'))!.kid
  // KEY_ROTATION_DAYS=30: an instance restarted every few minutes must still rotate a 31-day-old key.
  const app = await buildTestApp(t, { KEY_ROTATION_DAYS: 30 }, { database })
  t.equal(app.keys.signingKey().kid, next, 'the published next key signs')
  t.equal((await keyRow(overdue)).state, 'retired', 'the overdue key is retired (and still published)')
})

t.test('an instance starting on a key ring that is not due keeps its current key', async (t) => {
  for (const [days, rotationDays] of [[29, 30], [400, 0]] as const) {
    await emptyKeyRing()
    await ensureKeyRing(keyRingDeps(fixedClock(new Date(Date.now() - days * DAY_MS))))
    const current = (await findKeyInState(db, 'current'))!.kid
    const app = await buildTestApp(t, { KEY_ROTATION_DAYS: rotationDays }, { database })
    t.equal(app.keys.signingKey().kid, current,
      `a ${days}-day-old key with KEY_ROTATION_DAYS=${rotationDays} keeps signing`)
    await app.close()
  }
})

t.test('JWKS_MAX_AGE_SECONDS sets the JWKS cache lifetime, and a value out of range refuses to load', async (t) => {
  const app = await buildTestApp(t, { JWKS_MAX_AGE_SECONDS: 60 })
  const response = await app.inject('/.well-known/jwks.json')
  t.equal(response.headers['cache-control'], 'public, max-age=60')
  t.throws(() => testConfig({ JWKS_MAX_AGE_SECONDS: -1 }), /JWKS_MAX_AGE_SECONDS/)
  t.throws(() => testConfig({ JWKS_MAX_AGE_SECONDS: 'soon' }), /JWKS_MAX_AGE_SECONDS/)
})
