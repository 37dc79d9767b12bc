import { createPublicKey, type JsonWebKey } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
import jwt from 'jsonwebtoken'
import jwksClient from 'jwks-rsa'
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose'
import { buildTestApp } from '../helper.js'
import {
  ALGORITHMS, FIRST_PARTY_CLIENT_ID, tamperPayload, TEST_AUDIENCE, TEST_ISSUER, type Algorithm
} from './token-fixtures.js'
import { bearerValue, registerAndLogin } from '../support/auth-steps.js'

/*
 * access tokens MUST verify with stock libraries given only the JWKS URL. The
 * service is configured with ISSUER http://issuer.test (what the tokens carry); the verifiers
 * fetch the JWKS from the address the app really listens on.
 */

// jsonwebtoken 9 (validateAsymmetricKey, and jws/jwa below it) knows RSA, RSA-PSS and EC keys only:
// an Ed25519 key fails with 'Unknown key type "ed25519"' and "EdDSA" is not in its algorithm enum.
const JSONWEBTOKEN_UNSUPPORTED: Partial<Record<Algorithm, string>> = {
  EdDSA: 'jsonwebtoken 9 cannot verify EdDSA (Ed25519 keys: "Unknown key type ed25519"; jwa 2 has no EdDSA)'
}
// get-jwks getPublicKey converts the JWK with jwk-to-pem 2, which supports kty EC and RSA only.
const GET_JWKS_PEM_UNSUPPORTED: Partial<Record<Algorithm, string>> = {
  EdDSA: 'get-jwks getPublicKey uses jwk-to-pem 2, which throws Unsupported key type "OKP" for Ed25519 keys'
}

async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** A resource server of another team: @fastify/jwt verifying with keys get-jwks fetches. */
async function buildConsumer (
  baseUrl: string, alg: Algorithm, keyFrom: 'getPublicKey' | 'getJwk'
): Promise<FastifyInstance> {
  const getJwks = buildGetJwks({ issuersWhitelist: [baseUrl] })
  const consumer = Fastify()
  await consumer.register(fastifyJwt, {
    decode: { complete: true },
    secret: async (_request: FastifyRequest, token: TokenOrHeader): Promise<string> => {
      const { kid, alg: tokenAlg } = 'header' in token ? token.header : token
      const signature = { kid: String(kid), alg: String(tokenAlg), domain: baseUrl }
      if (keyFrom === 'getPublicKey') return await getJwks.getPublicKey(signature)
      const jwk = await getJwks.getJwk(signature)
      return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' }).toString()
    },
    verify: { algorithms: [alg], allowedIss: TEST_ISSUER, allowedAud: TEST_AUDIENCE }
  })
  consumer.get('/protected', async (request) => {
    const claims = await request.jwtVerify<{ sub: string, sid: string }>()
    return { sub: claims.sub, sid: claims.sid }
  })
  await consumer.ready()
  return consumer
}

for (const alg of ALGORITHMS) {
  t.test(`${alg} access tokens verify with stock libraries given only the JWKS URL`, async (t) => {
    const app = await buildTestApp(t, { JWT_ALG: alg, ISSUER: TEST_ISSUER, AUDIENCE: TEST_AUDIENCE },
      { freshKeys: true })
    const baseUrl = await listen(app)
    const jwksUri = `${baseUrl}/.well-known/jwks.json`
    const { user, accessToken, sessionId } = await registerAndLogin(app)
    const tampered = tamperPayload(accessToken, { sub: '00000000-0000-7000-8000-000000000000' })
    const signingKid = app.keys.signingKey().kid

    t.test('jose createRemoteJWKSet + jwtVerify accepts it with issuer, audience and typ pinned', async (t) => {
      const jwks = createRemoteJWKSet(new URL(jwksUri))
      const options = { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, typ: 'at+jwt', algorithms: [alg] }
      const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, options)
      t.same(protectedHeader, { alg, kid: signingKid, typ: 'at+jwt' },
        'header: alg, kid of the current key, typ at+jwt')
      t.equal(payload.iss, TEST_ISSUER)
      t.equal(payload.aud, TEST_AUDIENCE)
      t.equal(payload.sub, user.id, 'sub is the user id')
      t.equal(payload.sid, sessionId, 'sid is the session id of the login response')
      t.equal(payload.client_id, FIRST_PARTY_CLIENT_ID, 'first-party logins carry the first-party client id')
      t.match(payload.jti, /^[\w-]{16,}$/, 'a jti')
      t.ok(Math.abs(payload.iat! - Date.now() / 1000) < 60, 'iat is now')
      t.equal(payload.exp! - payload.iat!, 900, 'default lifetime 15 minutes')
      t.same(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'roles', 'sid', 'sub'],
        'no other claims (no scope without one, no email)')
      t.same(payload.roles, [], 'roles: an empty array for a user without roles')
      await t.rejects(jwtVerify(tampered, jwks, options), joseErrors.JWSSignatureVerificationFailed,
        'a tampered payload fails')
      await t.rejects(jwtVerify(accessToken, jwks, { ...options, audience: 'http://other-api.test' }),
        joseErrors.JWTClaimValidationFailed, 'another audience fails')
    })

    t.test('jwks-rsa finds the signing key by kid', async (t) => {
      const client = jwksClient({ jwksUri })
      const key = await client.getSigningKey(decodeProtectedHeader(accessToken).kid)
      t.equal(key.kid, signingKid)
      t.match(key.getPublicKey(), /^-----BEGIN PUBLIC KEY-----/)
    })

    t.test('jsonwebtoken + jwks-rsa accepts it with algorithms, ' +
      'issuer and audience pinned', { skip: JSONWEBTOKEN_UNSUPPORTED[alg] ?? false }, async (t) => {
      const client = jwksClient({ jwksUri })
      const publicKey = (await client.getSigningKey(decodeProtectedHeader(accessToken).kid)).getPublicKey()
      const options = { algorithms: [alg as jwt.Algorithm], issuer: TEST_ISSUER, audience: TEST_AUDIENCE }
      const payload = jwt.verify(accessToken, publicKey, options) as jwt.JwtPayload
      t.equal(payload.sub, user.id)
      t.equal(payload.sid, sessionId)
      t.equal(payload.iss, TEST_ISSUER)
      t.throws(() => jwt.verify(tampered, publicKey, options),
        { name: 'JsonWebTokenError', message: 'invalid signature' }, 'a tampered payload fails')
    })

    const consumerVariants = [
      ['getPublicKey', GET_JWKS_PEM_UNSUPPORTED[alg]],
      ['getJwk', undefined]
    ] as const
    for (const [keyFrom, unsupported] of consumerVariants) {
      t.test(`a Fastify consumer with @fastify/jwt + get-jwks ${keyFrom} accepts it ` +
        'and refuses a tampered one', { skip: unsupported ?? false }, async (t) => {
        const consumer = await buildConsumer(baseUrl, alg, keyFrom)
        t.teardown(async () => { await consumer.close() })
        const ok = await consumer.inject({
          method: 'GET', url: '/protected', headers: { authorization: bearerValue(accessToken) }
        })
        t.equal(ok.statusCode, 200, ok.body)
        t.same(ok.json(), { sub: user.id, sid: sessionId })
        const forged = await consumer.inject({
          method: 'GET', url: '/protected', headers: { authorization: bearerValue(tampered) }
        })
        t.equal(forged.statusCode, 401, 'tampered token refused')
        const missing = await consumer.inject({ method: 'GET', url: '/protected' })
        t.equal(missing.statusCode, 401, 'no token refused')
      })
    }
  })
}
