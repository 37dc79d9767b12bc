import t from 'tap'
import { decodeProtectedHeader } from 'jose'
import type { Kysely } from 'kysely'
import type { Database } from '../../src/db/database.js'
import { findKeyInState } from '../../src/db/repositories/signing-keys.js'
import { ensureKeyRing, rotateKeyRing, rotateKeyRingIfDue, type KeyRingDeps } from '../../src/domain/keys/key-ring.js'
import type { SigningAlgorithm } from '../../src/domain/keys/signing-key.js'
import type { Clock } from '../../src/lib/clock.js'
import { createSecretBox } from '../../src/lib/secret-box.js'
import { DEFAULT_JWKS_MAX_AGE_SECONDS, minPublishedSeconds } from '../../src/domain/keys/key-ring-deps.js'
import { buildTestApp, openTestDatabase, TEST_ENV } from '../helper.js'
import { setKeyPublication } from '../support/key-publication.js'
import { registerAndLogin } from '../support/auth-steps.js'

/*
 * A key becomes the signing key only after it has been published for at least the JWKS max-age
 * (plus the one reload interval an instance may take to serve it): two rotations in a row, or a
 * JWT_ALG change, never make a verifier meet a kid it could not have cached. `keys:rotate`
 * refuses (see test/cli/commands.test.ts); automatic rotation and JWT_ALG changes wait.
 */

const DAY_MS = 86_400_000
// The rule, from the values the JWKS route and the key plugin actually use.
const MIN_PUBLISHED_SECONDS = minPublishedSeconds(DEFAULT_JWKS_MAX_AGE_SECONDS)

const database = await openTestDatabase(t)
const db: Kysely<Database> = database.db
const secretBox = createSecretBox(TEST_ENV.KEY_ENCRYPTION_SECRET!, 'signing-keys')
const t0 = new Date()
const at = (seconds: number): Clock => ({ now: () => new Date(t0.getTime() + seconds * 1000) })
const deps = (clock: Clock, alg: SigningAlgorithm = 'ES256'): KeyRingDeps => ({
  db, clock, secretBox, alg, retiredKeyRetentionSeconds: 1200, minPublishedSeconds: MIN_PUBLISHED_SECONDS
})

async function ring (): Promise<{ current: string, next: string, currentAlg: string, nextAlg: string, rows: number }> {
  const current = (await findKeyInState(db, 'current'))!
  const next = (await findKeyInState(db, 'next'))!
  const rows = (await db.selectFrom('signing_keys').select('kid').execute()).length
  return { current: current.kid, next: next.kid, currentAlg: current.alg, nextAlg: next.alg, rows }
}

async function freshRing (clock: Clock, alg: SigningAlgorithm = 'ES256'): Promise<void> {
  await db.deleteFrom('signing_keys').execute()
  await ensureKeyRing(deps(clock, alg))
}

/** Move every key's publication back in time, as if the ring had existed that much longer. */
async function ageKeys (seconds: number): Promise<void> {
  const rows = await db.selectFrom('signing_keys').select(['kid', 'created_at', 'activated_at']).execute()
  for (const row of rows) {
    await setKeyPublication(db, new Date(row.created_at.getTime() - seconds * 1000), row.kid)
    if (row.activated_at === null) continue
    await db.updateTable('signing_keys').set({ activated_at: new Date(row.activated_at.getTime() - seconds * 1000) })
      .where('kid', '=', row.kid).execute()
  }
}

t.test('a rotation right after the next key was published refuses and changes nothing', async (t) => {
  await freshRing(at(0))
  const before = await ring()
  const error = await rotateKeyRing(deps(at(1))).then(() => undefined, (error: unknown) => error as Error)
  t.ok(error instanceof Error, 'the rotation is refused')
  t.match(
    error?.message,
    new RegExp(`${before.next}.*${MIN_PUBLISHED_SECONDS} s`),
    'one line naming the key and the cache lifetime'
  )
  t.notMatch(error?.message, /\n/, 'one line')
  t.same(await ring(), before, 'current and next are unchanged, no key added')
})

t.test('the next key is promoted once it has been published for the JWKS max-age ' +
  'plus one reload interval', async (t) => {
  await freshRing(at(0))
  const before = await ring()
  await t.rejects(rotateKeyRing(deps(at(MIN_PUBLISHED_SECONDS - 1))), 'one second short: refused')
  t.same(await ring(), before)
  const rotated = await rotateKeyRing(deps(at(MIN_PUBLISHED_SECONDS)))
  t.equal(rotated.current, before.next, 'the published next key signs')
  t.equal(rotated.retired, before.current)
})

t.test('two rotations in a row: the second refuses, the key the first promoted keeps signing', async (t) => {
  await freshRing(at(0))
  const first = await rotateKeyRing(deps(at(MIN_PUBLISHED_SECONDS)))
  const afterFirst = await ring()
  await t.rejects(rotateKeyRing(deps(at(MIN_PUBLISHED_SECONDS + 5))), 'the new next key is 5 s old')
  t.same(await ring(), afterFirst, 'nothing changed')
  t.equal(afterFirst.current, first.current)
  const second = await rotateKeyRing(deps(at(2 * MIN_PUBLISHED_SECONDS)))
  t.equal(second.current, first.next, 'once old enough, the next key is promoted')
})

t.test('a JWT_ALG change keeps signing with the old key until the new algorithm\'s key may sign', async (t) => {
  await freshRing(at(0), 'ES256')
  const before = await ring()
  const state = await ensureKeyRing(deps(at(10), 'EdDSA'))
  const during = await ring()
  t.equal(during.current, before.current, 'the ES256 key still signs')
  t.equal(during.currentAlg, 'ES256')
  t.equal(during.nextAlg, 'EdDSA', 'an EdDSA key is published as next')
  t.match(state, { pendingAlgorithmChange: { from: 'ES256', to: 'EdDSA', kid: during.next } }, 'the wait is reported')

  const again = await ensureKeyRing(deps(at(10 + MIN_PUBLISHED_SECONDS - 1), 'EdDSA'))
  t.equal((await ring()).current, before.current, 'still waiting one second before the end')
  t.ok(again.pendingAlgorithmChange !== undefined)

  await ensureKeyRing(deps(at(10 + MIN_PUBLISHED_SECONDS), 'EdDSA'))
  const after = await ring()
  t.equal(after.current, during.next, 'the EdDSA key published as next signs now')
  t.equal(after.currentAlg, 'EdDSA')
})

t.test('an app started with a new JWT_ALG signs with the old key and publishes the new one', async (t) => {
  await db.deleteFrom('signing_keys').execute()
  await ensureKeyRing(deps({ now: () => new Date() }, 'ES256'))
  const before = await ring()
  const app = await buildTestApp(t, { JWT_ALG: 'EdDSA' }, { database })
  const session = await registerAndLogin(app)
  const header = decodeProtectedHeader(session.accessToken)
  t.equal(header.kid, before.current, 'signed with the key verifiers have cached')
  t.equal(header.alg, 'ES256')
  const jwksResponse = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const jwks = jwksResponse.json() as { keys: Array<{ alg: string }> }
  t.ok(jwks.keys.some((key) => key.alg === 'EdDSA'), 'the EdDSA key is already published')
})

t.test('automatic rotation of an overdue key waits for a next key that is too young', async (t) => {
  await freshRing(at(-31 * 86_400))
  // The next key was replaced a moment ago (say, by a manual rotation's new next key).
  const young = await findKeyInState(db, 'next')
  await setKeyPublication(db, at(-30).now(), young!.kid)
  const before = await ring()
  t.equal(await rotateKeyRingIfDue(deps(at(0)), 30), false, 'due, but not rotated')
  t.same(await ring(), before, 'the overdue key keeps signing for now')
  t.equal(
    await rotateKeyRingIfDue(deps(at(MIN_PUBLISHED_SECONDS)), 30),
    true,
    'rotated once the next key is old enough'
  )
  t.equal((await ring()).current, before.next)
})

t.test('an instance starting on an overdue ring with a too-young next key keeps the current key', async (t) => {
  await db.deleteFrom('signing_keys').execute()
  await ensureKeyRing(deps({ now: () => new Date(Date.now() - 31 * DAY_MS) }))
  const next = await findKeyInState(db, 'next')
  await setKeyPublication(db, new Date(), next!.kid)
  const before = await ring()
  const app = await buildTestApp(t, { KEY_ROTATION_DAYS: 30 }, { database })
  t.equal(app.keys.signingKey().kid, before.current, 'the young next key does not sign')
  t.same(await ring(), before)
  await ageKeys(MIN_PUBLISHED_SECONDS)
  t.equal(await app.keys.rotateIfDue(30), true, 'the next check rotates')
  t.equal(app.keys.signingKey().kid, before.next)
})
