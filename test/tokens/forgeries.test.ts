import { createHmac } from 'node:crypto'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import {
  decodeJwt, decodeProtectedHeader, exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTHeaderParameters
} from 'jose'
import type { Test } from 'tap'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { signAccessToken } from '../../src/domain/tokens/access-token.js'
import { assertProblem, buildTestApp, postJson } from '../helper.js'
import { ALGORITHMS, FIRST_PARTY_CLIENT_ID, tamperPayload, unsignedToken, type Algorithm } from './token-fixtures.js'
import { bearerValue, type LoggedIn, meWith, registerAndLogin } from '../support/auth-steps.js'

/*
 * GET /auth/me (and so every access-token route) must refuse anything that is not a genuine,
 * live access token of this service with 401 invalid_token and a Bearer challenge (README: access tokens, errors).
 */

function assertInvalidToken (t: Test, response: LightMyRequestResponse, presented?: string): void {
  assertProblem(t, response, 401, 'invalid_token')
  t.match(
    response.headers['www-authenticate'], /^Bearer error="invalid_token"/,
    'WWW-Authenticate: Bearer error="invalid_token"'
  )
  if (presented !== undefined && presented.length > 16) {
    t.notOk(response.body.includes(presented), 'the presented token is not echoed')
  }
}

const hs256 = (header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string => {
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url')
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`
}

/** Sign `payload` with `key` under exactly the protected header given. */
async function signWith (
  header: JWTHeaderParameters, payload: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0]
): Promise<string> {
  return await new SignJWT(payload).setProtectedHeader(header).sign(key)
}

interface Forgery { name: string, authorization: () => Promise<string | undefined>, url?: string }

async function forgeriesFor (app: FastifyInstance, alg: Algorithm, victim: LoggedIn): Promise<Forgery[]> {
  const genuine = victim.accessToken
  const claims = decodeJwt(genuine)
  const header = decodeProtectedHeader(genuine)
  const kid = String(header.kid)
  const published = app.keys.jwks().document.keys.find((key) => key.kid === kid)!
  const publishedPem = await exportSPKI((await app.keys.verificationKey(kid))!.key)
  const attacker = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) })
  const attackerJwk = await exportJWK(attacker.publicKey)
  const subject = { sub: victim.user.id, clientId: FIRST_PARTY_CLIENT_ID, sid: victim.sessionId }
  const hourAgo = { now: () => new Date(Date.now() - 3_600_000) }
  const signing = app.keys.signingKey()
  const withToken = (make: () => Promise<string>) => async () => bearerValue(await make())

  return [
    { name: 'no Authorization header', authorization: async () => undefined },
    {
      name: 'alg none (unsigned, valid-looking payload)',
      authorization: withToken(async () => unsignedToken({ alg: 'none', typ: 'at+jwt', kid }, claims))
    },
    {
      name: 'alg "NONE" in another case',
      authorization: withToken(async () => unsignedToken({ alg: 'NONE', typ: 'at+jwt', kid }, claims))
    },
    {
      name: 'HS256 with the published key\'s PEM as HMAC secret',
      authorization: withToken(async () => hs256({ alg: 'HS256', typ: 'at+jwt', kid }, claims, publishedPem))
    },
    {
      name: 'HS256 with the published JWK as HMAC secret',
      authorization: withToken(async () =>
        hs256({ alg: 'HS256', typ: 'at+jwt', kid }, claims, JSON.stringify(published)))
    },
    {
      name: 'an unknown kid',
      authorization: withToken(async () =>
        await signWith({ alg, kid: 'unknown-kid', typ: 'at+jwt' }, claims, attacker.privateKey))
    },
    {
      name: 'a kid with path traversal',
      authorization: withToken(async () =>
        await signWith({ alg, kid: '../../etc/passwd', typ: 'at+jwt' }, claims, attacker.privateKey))
    },
    {
      name: 'a kid with SQL',
      authorization: withToken(async () =>
        await signWith({ alg, kid: "' OR 1=1 --", typ: 'at+jwt' }, claims, attacker.privateKey))
    },
    {
      name: 'no kid at all',
      authorization: withToken(async () => await signWith({ alg, typ: 'at+jwt' }, claims, signing.key))
    },
    {
      name: 'the real kid, signed by an attacker key',
      authorization: withToken(async () => await signWith({ alg, kid, typ: 'at+jwt' }, claims, attacker.privateKey))
    },
    {
      name: 'a tampered payload (sub changed)',
      authorization: withToken(async () => tamperPayload(genuine, { sub: '00000000-0000-7000-8000-000000000000' }))
    },
    {
      name: 'a tampered payload (exp extended)',
      authorization: withToken(async () => tamperPayload(genuine, { exp: Number(claims.exp) + 86_400 }))
    },
    {
      name: 'an expired token',
      authorization: withToken(async () =>
        (await signAccessToken({ ...app.services.wiring.accessTokens, clock: hourAgo }, subject)).token)
    },
    {
      name: 'a wrong issuer',
      authorization: withToken(async () =>
        (await signAccessToken({ ...app.services.wiring.accessTokens, issuer: 'http://evil.test' }, subject)).token)
    },
    {
      name: 'a wrong audience',
      authorization: withToken(async () => (await signAccessToken(
        { ...app.services.wiring.accessTokens, audience: 'http://other-api.test' }, subject
      )).token)
    },
    {
      name: 'typ JWT instead of at+jwt',
      authorization: withToken(async () => await signWith({ alg, kid: signing.kid, typ: 'JWT' }, claims, signing.key))
    },
    {
      name: 'no typ',
      authorization: withToken(async () => await signWith({ alg, kid: signing.kid }, claims, signing.key))
    },
    {
      name: 'a missing jti',
      authorization: withToken(async () =>
        await signWith({ alg, kid: signing.kid, typ: 'at+jwt' }, { ...claims, jti: undefined }, signing.key))
    },
    {
      name: 'a session that does not exist',
      authorization: withToken(async () => (await signAccessToken(
        app.services.wiring.accessTokens, { ...subject, sid: '00000000-0000-7000-8000-000000000000' }
      )).token)
    },
    {
      name: 'a validly signed token without sid whose sub is no user',
      authorization: withToken(async () => (await signAccessToken(
        app.services.wiring.accessTokens, { sub: '00000000-0000-7000-8000-000000000001', clientId: 'svc-reports' }
      )).token)
    },
    {
      name: 'a jku header pointing elsewhere, attacker-signed',
      authorization: withToken(async () => await signWith(
        { alg, kid: 'attacker', typ: 'at+jwt', jku: 'http://evil.test/jwks.json' }, claims, attacker.privateKey
      ))
    },
    {
      name: 'an x5u header pointing elsewhere, attacker-signed',
      authorization: withToken(async () => await signWith(
        { alg, kid: 'attacker', typ: 'at+jwt', x5u: 'http://evil.test/cert.pem' }, claims, attacker.privateKey
      ))
    },
    {
      name: 'an embedded jwk header, attacker-signed',
      authorization: withToken(async () =>
        await signWith({ alg, typ: 'at+jwt', jwk: attackerJwk }, claims, attacker.privateKey))
    },
    {
      name: 'an embedded jwk header with the real kid, attacker-signed',
      authorization: withToken(async () =>
        await signWith({ alg, kid, typ: 'at+jwt', jwk: attackerJwk }, claims, attacker.privateKey))
    },
    { name: 'a refresh token in the Authorization header', authorization: withToken(async () => victim.refreshToken) },
    { name: 'garbage', authorization: async () => 'Bearer not a token at all' },
    { name: 'a three-part garbage token', authorization: withToken(async () => 'aaaa.bbbb.cccc') },
    { name: '"Bearer" with nothing', authorization: async () => 'Bearer' },
    { name: '"Bearer " with nothing', authorization: async () => 'Bearer ' },
    { name: 'Basic credentials', authorization: async () => 'Basic xyz' },
    { name: 'the genuine token without the Bearer scheme', authorization: async () => genuine },
    {
      name: 'an oversized (10 KB) token',
      authorization: withToken(async () => `${'a'.repeat(2048)}.${'b'.repeat(8192)}.${'c'.repeat(86)}`)
    },
    {
      name: 'an access_token query parameter only',
      authorization: async () => undefined,
      url: `/auth/me?access_token=${encodeURIComponent(genuine)}`
    },
    {
      name: 'an access_token query parameter with garbage',
      authorization: async () => undefined,
      url: '/auth/me?access_token=garbage'
    }
  ]
}

for (const alg of ALGORITHMS) {
  t.test(`${alg}: GET /auth/me refuses forged, foreign and misplaced access tokens ` +
    'with 401 invalid_token', async (t) => {
    const app = await buildTestApp(t, { JWT_ALG: alg }, { freshKeys: true })
    const victim = await registerAndLogin(app)

    t.test('positive control: the genuine token answers 200 with the user', async (t) => {
      const response = await meWith(app, bearerValue(victim.accessToken))
      t.equal(response.statusCode, 200, response.body)
      const { user } = response.json()
      t.same(Object.keys(user).sort(), ['createdAt', 'email', 'id'])
      t.equal(user.id, victim.user.id)
      t.equal(user.email, victim.user.email)
      t.equal(
        (await meWith(app, `bearer ${victim.accessToken}`)).statusCode, 200,
        'the auth scheme is case-insensitive (RFC 9110 §11.1)'
      )
    })

    t.test('positive control: a token signed through the same test path with the real deps ' +
      'answers 200', async (t) => {
      const { token } = await signAccessToken(
        app.services.wiring.accessTokens,
        { sub: victim.user.id, clientId: FIRST_PARTY_CLIENT_ID, sid: victim.sessionId }
      )
      t.equal((await meWith(app, bearerValue(token))).statusCode, 200)
      const resigned = await signWith(
        { alg, kid: app.keys.signingKey().kid, typ: 'at+jwt' }, decodeJwt(victim.accessToken), app.keys.signingKey().key
      )
      t.equal(
        (await meWith(app, bearerValue(resigned))).statusCode, 200,
        'jose SignJWT with the current key and typ at+jwt is accepted'
      )
    })

    for (const forgery of await forgeriesFor(app, alg, victim)) {
      t.test(`refuses ${forgery.name}`, async (t) => {
        const authorization = await forgery.authorization()
        const response = await meWith(app, authorization, forgery.url)
        assertInvalidToken(t, response, authorization?.replace(/^Bearer /, ''))
      })
    }

    t.test('refuses a token whose session was ended by logout-all, and only that user\'s', async (t) => {
      const bystander = await registerAndLogin(app)
      const target = await registerAndLogin(app)
      t.equal((await meWith(app, bearerValue(target.accessToken))).statusCode, 200, 'live before')
      const logoutAll = await postJson(app, '/auth/logout-all', {}, { authorization: bearerValue(target.accessToken) })
      t.equal(logoutAll.statusCode, 204, logoutAll.body)
      assertInvalidToken(t, await meWith(app, bearerValue(target.accessToken)), target.accessToken)
      t.equal(
        (await meWith(app, bearerValue(bystander.accessToken))).statusCode, 200,
        'another user\'s session is untouched'
      )
    })

    t.test('refuses a token whose session was ended by logout', async (t) => {
      const target = await registerAndLogin(app)
      const logout = await postJson(app, '/auth/logout', {}, { authorization: bearerValue(target.accessToken) })
      t.equal(logout.statusCode, 204, logout.body)
      assertInvalidToken(t, await meWith(app, bearerValue(target.accessToken)), target.accessToken)
    })
  })
}

t.test('/auth access-token routes refuse a real client_credentials token with 401 invalid_token, ' +
  'never a 500', async (t) => {
  const app = await buildTestApp(t)
  const client = await createServiceClient(app.db, { name: 'reports', scope: 'read' })
  const issued = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: 'grant_type=client_credentials',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`
    }
  })
  t.equal(issued.statusCode, 200, issued.body)
  const token: string = issued.json().access_token
  t.match(decodeJwt(token), { sub: client.clientId, client_id: client.clientId }, 'sub = client id')
  t.notOk('sid' in decodeJwt(token), 'no session')
  const authorization = bearerValue(token)
  // A service client is not a user: no profile, no sessions, no password.
  const calls: Array<[string, () => Promise<LightMyRequestResponse>]> = [
    ['GET /auth/me', async () => await meWith(app, authorization)],
    ['GET /auth/sessions', async () =>
      await app.inject({ method: 'GET', url: '/auth/sessions', headers: { authorization } })],
    ['POST /auth/logout-all', async () => await postJson(app, '/auth/logout-all', {}, { authorization })],
    ['POST /auth/password', async () => await postJson(
      app, '/auth/password',
      { currentPassword: 'not the password 1', newPassword: 'a brand new passphrase 42' },
      { authorization }
    )]
  ]
  for (const [name, call] of calls) {
    t.test(name, async (t) => { assertInvalidToken(t, await call(), token) })
  }
})
