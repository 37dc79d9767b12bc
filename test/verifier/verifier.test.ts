import t from 'tap'
import { createRemoteJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose'
import { signAccessToken } from '../../src/domain/tokens/access-token.js'
import { createVerifier } from '../../packages/verifier/src/index.js'
import { tamperPayload, unsignedToken } from '../tokens/token-fixtures.js'
import { anHourAgo, setKeyPublication } from '../support/key-publication.js'
import { kit, KIT_AUDIENCE, newSession, outcome, startService } from './verifier-helpers.js'

/*
 * The verifier kit against the real service on a real port: what it accepts, what it refuses and
 * why (error codes), how it follows the service's keys, and that verifying costs no request.
 */

const service = await startService(t)
const { issuer, app } = service
const jwksFetches = (): number => service.requests.get('/.well-known/jwks.json') ?? 0

t.test('a valid access token verifies, offline: no request per verification', async (t) => {
  const verifier = await kit(t, service)
  const session = await newSession(issuer)
  // Independently, stock jose agrees the token is good.
  const remoteJwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`))
  await jwtVerify(session.accessToken, remoteJwks, { issuer, audience: KIT_AUDIENCE, typ: 'at+jwt' })
  const before = service.requestCount()
  for (let i = 0; i < 200; i++) {
    const claims = await verifier.verify(session.accessToken)
    if (i === 0) {
      t.equal(claims.sub, session.userId, 'sub is the user')
      t.equal(claims.sid, session.sessionId, 'sid is the session')
      t.equal(claims.iss, issuer)
      t.equal(claims.aud, KIT_AUDIENCE)
    }
  }
  t.equal(service.requestCount() - before, 0, '200 verifications, no request to the service')
  t.ok(verifier.staleness() < 3, `the feed is fresh (${verifier.staleness()} s)`)
})

t.test('forged, tampered, expired, foreign and mistyped tokens are invalid_token', async (t) => {
  const verifier = await kit(t, service)
  const session = await newSession(issuer)
  const deps = app.services.wiring.accessTokens
  const subject = { sub: 'someone', sid: session.sessionId, clientId: 'first-party' }
  const attacker = await generateKeyPair('ES256')
  const now = Math.floor(Date.now() / 1000)
  const claims = { iss: issuer, aud: KIT_AUDIENCE, sub: 'someone', exp: now + 300, iat: now }
  const kid = decodeProtectedHeader(session.accessToken).kid!
  const [header, payload, signature] = session.accessToken.split('.') as [string, string, string]
  const signing = app.keys.signingKey()
  const anHourBefore = (): Date => new Date(Date.now() - 3_600_000)
  const cases: Array<[string, string]> = [
    ['garbage', 'not a token'],
    ['three dots of nothing', 'a.b.c'],
    ['a flipped signature', `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`],
    ['a tampered payload', tamperPayload(session.accessToken, { sub: 'admin' })],
    ['alg none', unsignedToken({ alg: 'none', typ: 'at+jwt', kid }, claims)],
    [
      'signed by another key under the published kid',
      await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(attacker.privateKey)
    ],
    ['expired an hour ago', (await signAccessToken({ ...deps, clock: { now: anHourBefore } }, subject)).token],
    ['from another issuer', (await signAccessToken({ ...deps, issuer: 'http://evil.test' }, subject)).token],
    ['for another audience', (await signAccessToken({ ...deps, audience: 'http://other-api.test' }, subject)).token],
    [
      'typ JWT instead of at+jwt',
      await new SignJWT(claims).setProtectedHeader({ alg: signing.alg, typ: 'JWT', kid: signing.kid }).sign(signing.key)
    ],
    [
      'no exp',
      await new SignJWT({ ...claims, exp: undefined })
        .setProtectedHeader({ alg: signing.alg, typ: 'at+jwt', kid: signing.kid }).sign(signing.key)
    ],
    ['no kid', await new SignJWT(claims).setProtectedHeader({ alg: signing.alg, typ: 'at+jwt' }).sign(signing.key)]
  ]
  for (const [name, token] of cases) t.equal(await outcome(verifier, token), 'invalid_token', name)
  t.equal(await outcome(verifier, session.accessToken), 'ok', 'while the real token verifies')
  const error = await verifier.verify('x.y.z').catch((error: unknown) => error)
  t.type(error, Error, 'rejections are Errors')
  t.notMatch((error as Error).message, /x\.y\.z/, 'that never repeat the token')
})

t.test('a key rotation never fails a valid token, and needs no fetch', async (t) => {
  const verifier = await kit(t, service)
  const before = await newSession(issuer)
  const fetches = jwksFetches()
  await setKeyPublication(app.db, anHourAgo())
  await app.keys.rotate()
  const after = await newSession(issuer)
  t.not(
    decodeProtectedHeader(after.accessToken).kid,
    decodeProtectedHeader(before.accessToken).kid,
    'the new token has the new kid'
  )
  t.equal(await outcome(verifier, before.accessToken), 'ok', 'a token of the old key still verifies')
  t.equal(await outcome(verifier, after.accessToken), 'ok', 'a token of the promoted next key verifies at once')
  t.equal(jwksFetches() - fetches, 0, 'the kit had the next key cached already')
})

t.test('an unknown kid causes one JWKS fetch, then a 30 s cooldown', async (t) => {
  const verifier = await kit(t, service)
  // Two rotations in a row: tokens are now signed by a key the kit has never seen.
  await setKeyPublication(app.db, anHourAgo())
  await app.keys.rotate()
  await setKeyPublication(app.db, anHourAgo())
  await app.keys.rotate()
  const session = await newSession(issuer)
  let fetches = jwksFetches()
  t.equal(await outcome(verifier, session.accessToken), 'ok', 'the new kid is fetched and the token verifies')
  t.equal(jwksFetches() - fetches, 1, 'with one fetch')

  const attacker = await generateKeyPair('ES256')
  const forged = async (kid: string): Promise<string> => await new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(issuer).setAudience(KIT_AUDIENCE).setIssuedAt().setExpirationTime('5m')
    .sign(attacker.privateKey)
  fetches = jwksFetches()
  t.equal(await outcome(verifier, await forged('unknown-1')), 'invalid_token', 'an unknown kid is invalid_token')
  t.equal(jwksFetches() - fetches, 0, 'within 30 s of the last unknown-kid fetch: no fetch')
  const outcomes = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => await outcome(verifier, await forged(`flood-${i}`)))
  )
  t.same(new Set(outcomes), new Set(['invalid_token']), 'a flood of forged kids is refused')
  t.equal(jwksFetches() - fetches, 0, 'and costs the service nothing')

  // A fresh verifier (no cooldown yet) shows the first unknown kid does fetch, and only once for many.
  const other = await kit(t, service)
  fetches = jwksFetches()
  await Promise.all(Array.from({ length: 20 }, async (_, i) => await outcome(other, await forged(`burst-${i}`))))
  t.equal(jwksFetches() - fetches, 1, 'concurrent unknown kids share one fetch')
})

t.test('the JWKS unreachable: the cached keys keep verifying', async (t) => {
  const own = await startService(t)
  const verifier = await kit(t, own, { revocations: 'off' })
  const session = await newSession(own.issuer)
  await own.stop()
  t.equal(await outcome(verifier, session.accessToken), 'ok', 'with the service gone, a token of a cached key verifies')
  const attacker = await generateKeyPair('ES256')
  const unknown = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'new-kid' })
    .setIssuer(own.issuer).setAudience(KIT_AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(attacker.privateKey)
  t.equal(
    await outcome(verifier, unknown),
    'invalid_token',
    'an unknown kid is still invalid_token (the fetch fails quietly)'
  )
  t.equal(await outcome(verifier, session.accessToken), 'ok', 'and the cached keys survive the failed fetch')
})

t.test('a verifier that cannot reach the service at start is unavailable, then heals', async (t) => {
  const own = await startService(t)
  await own.stop()
  const verifier = createVerifier({ issuer: own.issuer, audience: KIT_AUDIENCE })
  t.teardown(async () => { await verifier.close() })
  await t.rejects(verifier.ready(), { code: 'verifier_unavailable' }, 'ready() rejects with verifier_unavailable')
  t.equal(await outcome(verifier, 'a.b.c'), 'verifier_unavailable', 'verify too, until it gets through')
  await own.restart()
  const session = await newSession(own.issuer)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal(
    await outcome(verifier, session.accessToken),
    'ok',
    'once the service is up, verify starts the verifier itself'
  )
})

t.test('options are checked', async (t) => {
  t.throws(() => createVerifier({ issuer, audience: KIT_AUDIENCE, revocations: 'sometimes' as 'off' }), TypeError)
  t.throws(() => createVerifier({ issuer, audience: KIT_AUDIENCE, failMode: 'maybe' as 'open' }), TypeError)
  const wrongIssuer = createVerifier({ issuer: `${issuer}/`, audience: KIT_AUDIENCE })
  t.teardown(async () => { await wrongIssuer.close() })
  await t.rejects(
    wrongIssuer.ready(),
    { code: 'verifier_unavailable' },
    'a discovery document naming another issuer is refused'
  )
})
