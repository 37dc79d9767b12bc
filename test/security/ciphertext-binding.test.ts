import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { KeyStore } from '../../src/domain/keys/key-store.js'
import { createSecretBox } from '../../src/lib/secret-box.js'
import { keyRingDeps } from '../../src/domain/keys/key-ring-deps.js'
import { assertProblem, buildTestApp, openTestDatabase, testConfig, TEST_ENV } from '../helper.js'
import { legacySeal } from '../support/legacy-seal.js'
import { sessionRow, sha256 } from '../sessions/session-helpers.js'
import { TEST_AUDIENCE, TEST_ISSUER } from '../tokens/token-fixtures.js'
import { loginForTokens, refreshWithBody, registerUser, tokensOf } from '../support/auth-steps.js'

/*
 * Sealed secrets are bound to their row: a signing key's private JWK to its kid, a grace-window
 * refresh token to its own token id. A ciphertext copied into another row does not open, and the
 * callers react as they must: a key that does not open never signs; a grace token that does not
 * open is an invalid refresh token (401), never a 500 and never another session's token.
 * Rows written before the binding still work.
 */

const SECRET = TEST_ENV.KEY_ENCRYPTION_SECRET!
const database = await openTestDatabase(t)
const { db } = database
const keyBox = createSecretBox(SECRET, 'signing-keys')
// Spelled out, not imported: the context is part of every stored row, so it must never change.
const signingKeyAad = (kid: string): string => `signing-key:${kid}`

async function keyRows () {
  return await db.selectFrom('signing_keys').select(['kid', 'state', 'private_jwk_ciphertext'])
    .orderBy('state').execute()
}

t.test('a signing key whose ciphertext was copied from another row never signs', async (t) => {
  await db.deleteFrom('signing_keys').execute()
  const app = await buildTestApp(t, {}, { database })
  const current = app.keys.signingKey().kid
  await app.close()
  const rows = await keyRows()
  const next = rows.find((row) => row.state === 'next')!
  // The next key's sealed private JWK, pasted into the current key's row.
  await db.updateTable('signing_keys').set({ private_jwk_ciphertext: next.private_jwk_ciphertext })
    .where('kid', '=', current).execute()

  const store = new KeyStore(keyRingDeps(testConfig(), db))
  const error = await store.reload().then(() => undefined, (error: unknown) => error as Error)
  t.ok(error instanceof Error, 'the key store refuses the key')
  t.match(error?.message, new RegExp(`signing key ${current} cannot be decrypted`), 'one line naming the key')
  t.notMatch(error?.message, /"d"|v2\./, 'no key material in the message')
  await t.rejects(buildTestApp(t, {}, { database }), /cannot be decrypted/,
    'an instance does not start signing with it')
})

t.test('signing keys sealed before the binding still sign, and are sealed again bound to their kid', async (t) => {
  await db.deleteFrom('signing_keys').execute()
  const first = await buildTestApp(t, {}, { database })
  const kid = first.keys.signingKey().kid
  await first.close()
  for (const row of await keyRows()) {
    const plaintext = keyBox.open(row.private_jwk_ciphertext, signingKeyAad(row.kid))
    await db.updateTable('signing_keys').set({ private_jwk_ciphertext: legacySeal(SECRET, 'signing-keys', plaintext) })
      .where('kid', '=', row.kid).execute()
  }
  const app = await buildTestApp(t, {}, { database })
  t.equal(app.keys.signingKey().kid, kid, 'the legacy key signs')
  const user = await registerUser(app)
  const tokens = await loginForTokens(app, user)
  t.equal(decodeProtectedHeader(tokens.accessToken).kid, kid)
  const jwksDocument = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet
  const jwks = createLocalJWKSet(jwksDocument)
  await jwtVerify(tokens.accessToken, jwks, { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, typ: 'at+jwt' })
  for (const row of await keyRows()) {
    t.match(row.private_jwk_ciphertext, /^v2\./, `${row.state} key re-sealed in the bound format`)
    t.ok(keyBox.open(row.private_jwk_ciphertext, signingKeyAad(row.kid)), 'and opens under its own kid')
  }
})

t.test('grace-window ciphertexts are bound to their token', async (t) => {
  await db.deleteFrom('signing_keys').execute()
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 30 }, { database })
  const user = await registerUser(app)
  const ciphertextOf = async (token: string): Promise<string | null> =>
    (await db.selectFrom('refresh_tokens').select('successor_ciphertext')
      .where('token_hash', '=', sha256(token)).executeTakeFirstOrThrow()).successor_ciphertext

  t.test('a ciphertext copied from another session\'s row is an invalid refresh token, ' +
    'not that session\'s token', async (t) => {
    const victim = await loginForTokens(app, user)
    const victimNext = tokensOf(await refreshWithBody(app, victim.refreshToken), 'rotate')
    const mine = await loginForTokens(app, user)
    tokensOf(await refreshWithBody(app, mine.refreshToken), 'rotate')
    await db.updateTable('refresh_tokens').set({ successor_ciphertext: await ciphertextOf(victim.refreshToken) })
      .where('token_hash', '=', sha256(mine.refreshToken)).execute()

    const response = await refreshWithBody(app, mine.refreshToken)
    assertProblem(t, response, 401, 'invalid_refresh_token')
    t.notMatch(response.body, victimNext.refreshToken, 'the other session\'s token is not handed out')
    t.equal((await sessionRow(database, mine.sessionId)).revoked_at, null, 'not treated as theft: the family is spared')
    t.equal((await refreshWithBody(app, victimNext.refreshToken)).statusCode, 200,
      'the victim\'s live token still works')
  })

  t.test('a grace ciphertext sealed before the binding still opens', async (t) => {
    const first = await loginForTokens(app, user)
    const second = tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    await db.updateTable('refresh_tokens')
      .set({ successor_ciphertext: legacySeal(SECRET, 'refresh-token-successor', second.refreshToken) })
      .where('token_hash', '=', sha256(first.refreshToken)).execute()
    const retry = await refreshWithBody(app, first.refreshToken)
    t.equal(retry.statusCode, 200, retry.body)
    t.equal(retry.json().refreshToken, second.refreshToken, 'the grace answer is the session\'s current token')
  })

  t.test('new grace ciphertexts are in the bound format', async (t) => {
    const first = await loginForTokens(app, user)
    tokensOf(await refreshWithBody(app, first.refreshToken), 'rotate')
    t.match(await ciphertextOf(first.refreshToken), /^v2\./)
  })
})
