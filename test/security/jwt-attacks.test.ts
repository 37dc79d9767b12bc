import { execFileSync } from 'node:child_process'
import { createHmac, createPublicKey, randomUUID, webcrypto, type JsonWebKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import {
  calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair, importPKCS8, SignJWT,
  type JWK, type JWTHeaderParameters
} from 'jose'
import type { Test } from 'tap'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { signAccessToken } from '../../src/domain/tokens/access-token.js'
import { assertProblem, buildTestApp, openTestDatabase } from '../helper.js'
import { login, me, registerUser } from '../support/auth-steps.js'

/*
 * JWT attacks against the two places that verify access tokens: GET /auth/me (the guard of every
 * /auth route) and POST /oauth/introspect (RFC 7662). Every attack must give 401 invalid_token
 * there and exactly {active:false} here (asymmetric only, typ at+jwt, the key
 * comes from our own key store, never from the token).
 *
 * Each attack differs from a token the service accepts in exactly the one thing it names: tokens
 * that need a real signature are signed with the service's own current key (app.keys.signingKey()),
 * and wherever the attack is "an attacker key", a control token built the same way but signed with
 * the service key is checked to be accepted, so the rejection is known to come from the key alone.
 */

type CryptoKey = webcrypto.CryptoKey
const b64url = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url')

interface Attack {
  name: string
  /** The forged token (or Authorization-header token). */
  forged: () => Promise<string>
  /** Optional: the same construction without the defect, which must be accepted. */
  control?: () => Promise<string>
  /** Introspection may answer 413 invalid_request instead of {active:false} (token over the body limit). */
  introspectionMayRefuse?: boolean
}

/** An attacker's key pair, and (when openssl is available) a self-signed certificate for it. */
async function attackerMaterial (t: Test): Promise<{
  privateKey: CryptoKey, publicJwk: JWK, kid: string, x5c: string[], x5cIsCertificate: boolean
}> {
  let directory: string | undefined
  try {
    directory = mkdtempSync(join(tmpdir(), 'jwt-attacker-'))
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(directory, 'key.pem'), '-out', join(directory, 'cert.pem'),
      '-subj', '/CN=attacker.test', '-days', '1'
    ], { stdio: 'ignore' })
    const privateKeyPem = readFileSync(join(directory, 'key.pem'), 'utf8')
    const privateKey = await importPKCS8(privateKeyPem, 'ES256', { extractable: true }) as CryptoKey
    const certificate = readFileSync(join(directory, 'cert.pem'), 'utf8')
    const der = certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '')
    const publicJwk = createPublicKey(certificate).export({ format: 'jwk' }) as JWK
    return { privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk), x5c: [der], x5cIsCertificate: true }
  } catch {
    t.comment('openssl unavailable: x5c carries the attacker SPKI instead of a certificate')
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const spki = (await exportSPKI(publicKey)).replace(/-----(BEGIN|END) PUBLIC KEY-----|\s+/g, '')
    return { privateKey, publicJwk, kid: await calculateJwkThumbprint(publicJwk), x5c: [spki], x5cIsCertificate: false }
  } finally {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
  }
}

t.test('JWT attacks on GET /auth/me and POST /oauth/introspect', async (t) => {
  const database = await openTestDatabase(t)
  const app: FastifyInstance = await buildTestApp(t, {}, { database })
  const { config } = app

  const user = await registerUser(app)
  const loggedIn = await login(app, user, 'body')
  t.equal(loggedIn.statusCode, 200, 'the victim logs in')
  const { accessToken: genuine, sessionId } = loggedIn.json() as { accessToken: string, sessionId: string }
  const otherUser = await registerUser(app)
  const client = await createServiceClient(app.db, { name: 'jwt-attacks' })
  const clientBasic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`

  const signing = app.keys.signingKey()
  t.equal(signing.alg, 'ES256', 'the service signs with ES256 (the default)')
  const serviceKey = signing.key as CryptoKey
  const publishedJwk = app.keys.jwks().document.keys.find((key) => key.kid === signing.kid)!
  const publishedPem = createPublicKey({ key: publishedJwk as unknown as JsonWebKey, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString()
  const attacker = await attackerMaterial(t)

  const now = (): number => Math.floor(Date.now() / 1000)
  /** The claims of a token the service accepts: the RFC 9068 set of a first-party login. */
  const claims = (changes: Record<string, unknown> = {}): Record<string, unknown> => {
    const base: Record<string, unknown> = {
      iss: config.ISSUER,
      aud: config.AUDIENCE,
      sub: user.id,
      sid: sessionId,
      client_id: config.FIRST_PARTY_CLIENT_ID,
      jti: randomUUID(),
      iat: now(),
      exp: now() + 600
    }
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) Reflect.deleteProperty(base, name)
      else base[name] = value
    }
    return base
  }
  const header = (changes: Record<string, unknown> = {}): JWTHeaderParameters => {
    const base: Record<string, unknown> = { alg: signing.alg, kid: signing.kid, typ: 'at+jwt' }
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) Reflect.deleteProperty(base, name)
      else base[name] = value
    }
    return base as unknown as JWTHeaderParameters
  }
  /** jose's SignJWT with the protected header exactly as given. */
  const sign = async (
    protectedHeader: JWTHeaderParameters,
    payload: Record<string, unknown>,
    key: CryptoKey,
    crit?: Record<string, boolean>
  ): Promise<string> =>
    await new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key, crit === undefined ? undefined : { crit })
  /** Hand-made JWS: any header and payload text, signed as ES256 (ECDSA P-256, IEEE P1363) by `key`. */
  const signRaw = async (headerText: string, payloadText: string, key: CryptoKey): Promise<string> => {
    const signingInput = `${b64url(headerText)}.${b64url(payloadText)}`
    const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(signingInput))
    return `${signingInput}.${b64url(new Uint8Array(signature))}`
  }
  const hmac = (hash: 'sha256' | 'sha384' | 'sha512', alg: string, secret: string | Buffer): string => {
    const signingInput = `${b64url(JSON.stringify(header({ alg })))}.${b64url(JSON.stringify(claims()))}`
    return `${signingInput}.${createHmac(hash, secret).update(signingInput).digest('base64url')}`
  }
  const unsigned = (alg: string, signature = ''): string =>
    `${b64url(JSON.stringify(header({ alg })))}.${b64url(JSON.stringify(claims()))}.${signature}`
  const genuineSignature = genuine.split('.')[2]!

  const introspect = async (token: string): Promise<LightMyRequestResponse> =>
    await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      payload: new URLSearchParams({ token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: clientBasic }
    })

  async function assertAccepted (t: Test, token: string, label: string): Promise<void> {
    const response = await me(app, token)
    t.equal(response.statusCode, 200, `${label}: /auth/me accepts it (${response.body.slice(0, 160)})`)
    const introspection = await introspect(token)
    t.equal(introspection.statusCode, 200, `${label}: introspection answers 200`)
    t.equal(introspection.json().active, true, `${label}: introspection says active`)
  }

  async function assertRejected (t: Test, token: string, introspectionMayRefuse = false): Promise<void> {
    const response = await me(app, token)
    assertProblem(t, response, 401, 'invalid_token')
    t.match(response.headers['www-authenticate'], /^Bearer error="invalid_token"/, 'a Bearer invalid_token challenge')
    t.notOk(response.body.includes(token.slice(-40)), 'the token is not echoed')
    const introspection = await introspect(token)
    if (introspectionMayRefuse && introspection.statusCode === 413) {
      t.equal(
        introspection.json().error, 'invalid_request',
        'introspection refuses the oversized request with invalid_request (never active)'
      )
      return
    }
    t.equal(introspection.statusCode, 200, `introspection answers 200 (${introspection.body.slice(0, 160)})`)
    t.same(introspection.json(), { active: false }, 'introspection: exactly {active:false}')
  }

  t.test('positive controls: what the attacks are variations of is accepted', async (t) => {
    await assertAccepted(t, genuine, 'the token from /auth/login')
    await assertAccepted(
      t, await sign(header(), claims(), serviceKey),
      'SignJWT with the service key, typ at+jwt and the full claim set'
    )
    await assertAccepted(
      t, await signRaw(JSON.stringify(header()), JSON.stringify(claims()), serviceKey),
      'the hand-made ES256 JWS with the service key'
    )
    const ownToken = await signAccessToken(
      app.services.wiring.accessTokens, { sub: user.id, clientId: config.FIRST_PARTY_CLIENT_ID, sid: sessionId }
    )
    await assertAccepted(t, ownToken.token, 'signAccessToken with the app\'s own deps')
  })

  const attacks: Attack[] = [
    // alg none
    { name: 'alg "none" with an empty signature', forged: async () => unsigned('none') },
    { name: 'alg "None"', forged: async () => unsigned('None') },
    { name: 'alg "NONE"', forged: async () => unsigned('NONE') },
    { name: 'alg "none" keeping a genuine signature', forged: async () => unsigned('none', genuineSignature) },
    { name: 'alg "" (empty)', forged: async () => unsigned('') },

    // algorithm confusion
    {
      name: 'HS256 with the public key\'s SPKI PEM as the HMAC secret',
      forged: async () => hmac('sha256', 'HS256', publishedPem)
    },
    {
      name: 'HS256 with the PEM minus its trailing newline',
      forged: async () => hmac('sha256', 'HS256', publishedPem.trimEnd())
    },
    {
      name: 'HS256 with the published JWK JSON as the HMAC secret',
      forged: async () => hmac('sha256', 'HS256', JSON.stringify(publishedJwk))
    },
    {
      name: 'HS256 with the whole JWKS document as the HMAC secret',
      forged: async () => hmac('sha256', 'HS256', JSON.stringify(app.keys.jwks().document))
    },
    { name: 'HS384 with the public key PEM', forged: async () => hmac('sha384', 'HS384', publishedPem) },
    { name: 'HS512 with the public key PEM', forged: async () => hmac('sha512', 'HS512', publishedPem) },
    {
      name: 'an RS256 header on a genuine ES256 signature by the service key',
      forged: async () => await signRaw(JSON.stringify(header({ alg: 'RS256' })), JSON.stringify(claims()), serviceKey),
      control: async () => await signRaw(JSON.stringify(header()), JSON.stringify(claims()), serviceKey)
    },
    {
      name: 'a PS256 header on a genuine ES256 signature',
      forged: async () => await signRaw(JSON.stringify(header({ alg: 'PS256' })), JSON.stringify(claims()), serviceKey)
    },
    {
      name: 'an ES384 header on a genuine ES256 signature',
      forged: async () => await signRaw(JSON.stringify(header({ alg: 'ES384' })), JSON.stringify(claims()), serviceKey)
    },
    {
      name: 'an EdDSA header on a genuine ES256 signature',
      forged: async () => await signRaw(JSON.stringify(header({ alg: 'EdDSA' })), JSON.stringify(claims()), serviceKey)
    },

    // kid injection, all genuinely signed by the service key: only the kid is wrong
    {
      name: 'kid with path traversal',
      forged: async () => await sign(header({ kid: '../../../../../../dev/null' }), claims(), serviceKey),
      control: async () => await sign(header(), claims(), serviceKey)
    },
    {
      name: 'kid with path traversal to the key directory',
      forged: async () => await sign(header({ kid: `../keys/${signing.kid}` }), claims(), serviceKey)
    },
    {
      name: 'kid with SQL (tautology)',
      forged: async () => await sign(header({ kid: "' OR '1'='1" }), claims(), serviceKey)
    },
    {
      name: 'kid with SQL (UNION)',
      forged: async () =>
        await sign(header({ kid: "x' UNION SELECT public_jwk FROM signing_keys --" }), claims(), serviceKey)
    },
    {
      name: 'kid with SQL (stacked DROP)',
      forged: async () => await sign(header({ kid: "x'; DROP TABLE signing_keys; --" }), claims(), serviceKey)
    },
    {
      name: 'kid = the real kid + NUL',
      forged: async () => await sign(header({ kid: `${signing.kid}\u0000` }), claims(), serviceKey)
    },
    {
      name: 'kid = the real kid upper-cased',
      forged: async () => {
        const upper = signing.kid.toUpperCase()
        return await sign(header({ kid: upper === signing.kid ? `${signing.kid}X` : upper }), claims(), serviceKey)
      }
    },
    {
      name: 'a very long kid (2,000 characters, the token still under 4 KiB)',
      forged: async () => await sign(header({ kid: 'k'.repeat(2000) }), claims(), serviceKey)
    },
    { name: 'kid null', forged: async () => await sign(header({ kid: null }), claims(), serviceKey) },
    { name: 'kid a number', forged: async () => await sign(header({ kid: 12345 }), claims(), serviceKey) },
    {
      name: 'kid an array holding the real kid',
      forged: async () => await sign(header({ kid: [signing.kid] }), claims(), serviceKey)
    },
    { name: 'kid an object', forged: async () => await sign(header({ kid: { $ne: null } }), claims(), serviceKey) },
    { name: 'kid empty', forged: async () => await sign(header({ kid: '' }), claims(), serviceKey) },
    { name: 'no kid at all', forged: async () => await sign(header({ kid: undefined }), claims(), serviceKey) },

    // key material named or carried by the token, signed by the attacker
    {
      name: 'jku pointing to the attacker\'s JWKS, attacker kid, attacker-signed',
      forged: async () => await sign(
        header({ kid: attacker.kid, jku: 'https://attacker.test/.well-known/jwks.json' }), claims(), attacker.privateKey
      )
    },
    {
      name: 'jku pointing to the attacker\'s JWKS, the real kid, attacker-signed',
      forged: async () =>
        await sign(header({ jku: 'https://attacker.test/.well-known/jwks.json' }), claims(), attacker.privateKey),
      control: async () =>
        await sign(header({ jku: 'https://attacker.test/.well-known/jwks.json' }), claims(), serviceKey)
    },
    {
      name: 'jku pointing to the service\'s own JWKS URL, attacker-signed',
      forged: async () => await sign(
        header({ kid: attacker.kid, jku: `${config.ISSUER}/.well-known/jwks.json` }), claims(), attacker.privateKey
      )
    },
    {
      name: 'x5u pointing to the attacker\'s certificate, attacker-signed',
      forged: async () =>
        await sign(header({ kid: attacker.kid, x5u: 'https://attacker.test/cert.pem' }), claims(), attacker.privateKey),
      control: async () => await sign(header({ x5u: 'https://attacker.test/cert.pem' }), claims(), serviceKey)
    },
    {
      name: 'x5c carrying the attacker\'s self-signed certificate, no kid, attacker-signed',
      forged: async () => await sign(header({ kid: undefined, x5c: attacker.x5c }), claims(), attacker.privateKey)
    },
    {
      name: 'x5c carrying the attacker\'s certificate with the real kid, attacker-signed',
      forged: async () => await sign(header({ x5c: attacker.x5c }), claims(), attacker.privateKey),
      control: async () => await sign(header({ x5c: attacker.x5c }), claims(), serviceKey)
    },
    {
      name: 'an embedded jwk (the attacker\'s public key), no kid, attacker-signed',
      forged: async () => await sign(header({ kid: undefined, jwk: attacker.publicJwk }), claims(), attacker.privateKey)
    },
    {
      name: 'an embedded jwk with the real kid, attacker-signed',
      forged: async () =>
        await sign(header({ jwk: { ...attacker.publicJwk, kid: signing.kid } }), claims(), attacker.privateKey),
      control: async () =>
        await sign(header({ jwk: { ...attacker.publicJwk, kid: signing.kid } }), claims(), serviceKey)
    },
    {
      name: 'the real kid, attacker-signed, no extra headers',
      forged: async () => await sign(header(), claims(), attacker.privateKey)
    },

    // typ confusion, genuinely signed
    {
      name: 'typ "JWT"',
      forged: async () => await sign(header({ typ: 'JWT' }), claims(), serviceKey),
      control: async () => await sign(header({ typ: 'at+jwt' }), claims(), serviceKey)
    },
    { name: 'typ missing', forged: async () => await sign(header({ typ: undefined }), claims(), serviceKey) },
    { name: 'typ "rt+jwt"', forged: async () => await sign(header({ typ: 'rt+jwt' }), claims(), serviceKey) },
    {
      name: 'typ "application/jwt"',
      forged: async () => await sign(header({ typ: 'application/jwt' }), claims(), serviceKey)
    },
    { name: 'typ "dpop+jwt"', forged: async () => await sign(header({ typ: 'dpop+jwt' }), claims(), serviceKey) },

    // crit
    {
      name: 'a crit header naming an unknown extension',
      forged: async () => await sign(
        header({ crit: ['urn:example:unknown'], 'urn:example:unknown': true }), claims(), serviceKey,
        { 'urn:example:unknown': true }
      ),
      control: async () => await sign(header({ 'urn:example:unknown': true }), claims(), serviceKey)
    },
    {
      name: 'b64:false (unencoded payload) under crit',
      forged: async () => {
        const protectedHeader = b64url(JSON.stringify(header({ b64: false, crit: ['b64'] })))
        const payload = JSON.stringify(claims())
        const signature = await webcrypto.subtle.sign(
          { name: 'ECDSA', hash: 'SHA-256' }, serviceKey, Buffer.from(`${protectedHeader}.${payload}`)
        )
        return `${protectedHeader}.${b64url(payload)}.${b64url(new Uint8Array(signature))}`
      }
    },

    // size
    {
      name: 'an oversized token (50 KB of claims), genuinely signed',
      forged: async () => await sign(header(), claims({ padding: 'p'.repeat(50 * 1024) }), serviceKey),
      control: async () => await sign(header(), claims({ padding: 'p'.repeat(512) }), serviceKey),
      introspectionMayRefuse: true
    },

    // duplicate claims: lexically last wins in JSON.parse; with an attacker key the signature fails first
    {
      name: 'duplicate "sub" members, hand-crafted and signed by an attacker key',
      forged: async () => {
        const payload = JSON.stringify(claims()).replace(/^\{/, `{"sub":${JSON.stringify(otherUser.id)},`)
        return await signRaw(JSON.stringify(header()), payload, attacker.privateKey)
      }
    },

    // claims, genuinely signed
    { name: 'no exp', forged: async () => await sign(header(), claims({ exp: undefined }), serviceKey) },
    {
      name: 'exp a string',
      forged: async () => await sign(header(), claims({ exp: String(now() + 600) }), serviceKey)
    },
    {
      name: 'nbf an hour in the future',
      forged: async () => await sign(header(), claims({ nbf: now() + 3600 }), serviceKey),
      control: async () => await sign(header(), claims({ nbf: now() - 1 }), serviceKey)
    },
    {
      name: 'expired an hour ago',
      forged: async () => await sign(header(), claims({ iat: now() - 7200, exp: now() - 3600 }), serviceKey)
    },
    { name: 'no iat', forged: async () => await sign(header(), claims({ iat: undefined }), serviceKey) },
    { name: 'no jti', forged: async () => await sign(header(), claims({ jti: undefined }), serviceKey) },
    { name: 'no sub', forged: async () => await sign(header(), claims({ sub: undefined }), serviceKey) },
    { name: 'no client_id', forged: async () => await sign(header(), claims({ client_id: undefined }), serviceKey) },
    { name: 'client_id a number', forged: async () => await sign(header(), claims({ client_id: 42 }), serviceKey) },
    { name: 'sid a number', forged: async () => await sign(header(), claims({ sid: 42 }), serviceKey) },
    {
      name: 'sid of no session',
      forged: async () => await sign(header(), claims({ sid: '00000000-0000-7000-8000-000000000000' }), serviceKey)
    },
    { name: 'no iss', forged: async () => await sign(header(), claims({ iss: undefined }), serviceKey) },
    { name: 'no aud', forged: async () => await sign(header(), claims({ aud: undefined }), serviceKey) },
    {
      name: 'aud an array without this audience',
      forged: async () =>
        await sign(header(), claims({ aud: ['http://other.test', `${config.AUDIENCE}/`] }), serviceKey)
    },
    {
      name: 'the payload a JSON array',
      forged: async () => await signRaw(JSON.stringify(header()), JSON.stringify([claims()]), serviceKey)
    },
    {
      name: 'the payload not JSON',
      forged: async () => await signRaw(JSON.stringify(header()), 'not json', serviceKey)
    },
    {
      name: 'signed by the service for another audience (signAccessToken)',
      forged: async () => (await signAccessToken(
        { ...app.services.wiring.accessTokens, audience: 'http://other.test' },
        { sub: user.id, clientId: config.FIRST_PARTY_CLIENT_ID, sid: sessionId }
      )).token,
      control: async () => (await signAccessToken(
        app.services.wiring.accessTokens,
        { sub: user.id, clientId: config.FIRST_PARTY_CLIENT_ID, sid: sessionId }
      )).token
    },
    {
      name: 'signed by the service for another issuer (signAccessToken)',
      forged: async () => (await signAccessToken(
        { ...app.services.wiring.accessTokens, issuer: 'http://other-issuer.test' },
        { sub: user.id, clientId: config.FIRST_PARTY_CLIENT_ID, sid: sessionId }
      )).token
    },

    // shape
    { name: 'a genuine token with a fourth segment', forged: async () => `${genuine}.AAAA` },
    {
      name: 'a five-part (JWE-shaped) token',
      forged: async () => `${genuine.split('.')[0]!}..${genuine.split('.')[1]!}.AAAA.${genuineSignature}`
    },
    { name: 'the genuine token with its signature truncated', forged: async () => genuine.slice(0, -4) },
    {
      name: 'the genuine token with one signature character changed',
      forged: async () => {
        const replacement = genuineSignature[10] === 'A' ? 'B' : 'A'
        const flipped = `${genuineSignature.slice(0, 10)}${replacement}${genuineSignature.slice(11)}`
        return `${genuine.split('.').slice(0, 2).join('.')}.${flipped}`
      }
    }
  ]

  for (const attack of attacks) {
    t.test(`rejects ${attack.name}`, async (t) => {
      if (attack.control !== undefined) await assertAccepted(t, await attack.control(), 'control without the defect')
      await assertRejected(t, await attack.forged(), attack.introspectionMayRefuse)
    })
  }

  t.test('duplicate claims signed by the service key: ' +
    'the lexically last member wins (RFC 7519 §4), deterministically', async (t) => {
    // Not an attack (only the service holds the key); this records how a duplicate is read.
    const payload = JSON.stringify(claims()).replace(/^\{/, `{"sub":${JSON.stringify(otherUser.id)},`)
    const token = await signRaw(JSON.stringify(header()), payload, serviceKey)
    const response = await me(app, token)
    t.comment(`/auth/me with {"sub": <other user>, …, "sub": <victim>}: ${response.statusCode}`)
    if (response.statusCode === 200) {
      t.equal(response.json().user.id, user.id, 'the last "sub" (the victim) is the one used, never the first')
    } else {
      assertProblem(t, response, 401, 'invalid_token')
      t.pass('duplicate members are rejected outright, which RFC 7519 also allows')
    }
    const introspection = (await introspect(token)).json()
    if (introspection.active === true) t.equal(introspection.sub, user.id, 'introspection reports the last "sub" too')
  })

  t.test('a token as long as 50 KB in the Authorization header is refused cheaply', async (t) => {
    const token = await sign(header(), claims({ padding: 'p'.repeat(50 * 1024) }), serviceKey)
    t.ok(token.length > 50_000, `the token is ${token.length} bytes`)
    const started = performance.now()
    const response = await me(app, token)
    assertProblem(t, response, 401, 'invalid_token')
    t.ok(performance.now() - started < 1000, 'answered within a second')
  })

  t.test('the kid injections changed nothing in the key store', async (t) => {
    const keys = await app.db.selectFrom('signing_keys').select(['kid', 'state']).execute()
    t.ok(
      keys.some((key) => key.kid === signing.kid && key.state === 'current'),
      'the current key is still there and current'
    )
    t.equal(app.keys.signingKey().kid, signing.kid, 'the app still signs with the same key')
    await assertAccepted(t, genuine, 'the genuine token after all the attacks')
  })
})
