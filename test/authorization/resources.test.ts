import t from 'tap'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose'
import type { FastifyInstance } from 'fastify'
import { registerResource } from '../../src/domain/authorization/resources.js'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { assertProblem, buildTestApp, openTestDatabase, postJson } from '../helper.js'
import { assertOAuthError, basic, postForm } from '../oauth/oauth-helpers.js'
import { bearer, loginForTokens, me, registerUser } from '../support/auth-steps.js'

const ISSUER = 'http://issuer.test'
const AUDIENCE = 'http://api.test'
// Unique per run, so runs sharing a PostgreSQL database never see each other's registrations.
const suffix = `${process.pid}-${Date.now()}`
const BILLING = `https://billing.example.com/${suffix}`
const INVOICES = `https://invoices.example.com/${suffix}?tenant=a`
const SHORT = `urn:example:short:${suffix}`

async function jwksOf (app: FastifyInstance): Promise<ReturnType<typeof createLocalJWKSet>> {
  const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  return createLocalJWKSet(response.json() as JSONWebKeySet)
}

const lifetime = (token: string): number => { const p = decodeJwt(token); return p.exp! - p.iat! }

t.test('resource indicators (RFC 8707)', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 0 }, { database })
  await registerResource(app.db, { uri: BILLING, scopes: 'invoices:read invoices:write shared' })
  await registerResource(app.db, { uri: INVOICES, scopes: 'shared', ttlSeconds: 3600 })
  await registerResource(app.db, { uri: SHORT, ttlSeconds: 60 })
  const jwks = await jwksOf(app)

  t.test('login with a resource: aud is exactly that URI, refused by a verifier of another resource', async (t) => {
    const user = await registerUser(app)
    const response = await postJson(app, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: BILLING
    })
    t.equal(response.statusCode, 200, response.body)
    const token = response.json().accessToken as string
    const { payload } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: BILLING, typ: 'at+jwt' })
    t.equal(payload.aud, BILLING, 'aud is one string, the resource')
    await t.rejects(
      jwtVerify(token, jwks, { issuer: ISSUER, audience: INVOICES }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
      'a verifier for another resource refuses it'
    )
    await t.rejects(
      jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
      'a verifier for the service audience refuses it'
    )
    const profile = await me(app, token)
    t.equal(profile.statusCode, 401, 'a token for another resource is not a key to /auth/me')
    t.match(profile.headers['www-authenticate'], /invalid_token/)
    const sessions = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(token) })
    t.equal(sessions.statusCode, 401, 'nor to the session list')
  })

  t.test('without a resource, aud stays AUDIENCE and /auth/me accepts the token', async (t) => {
    const tokens = await loginForTokens(app, await registerUser(app))
    const { payload } = await jwtVerify(tokens.accessToken, jwks, { issuer: ISSUER, audience: AUDIENCE })
    t.equal(payload.aud, AUDIENCE)
    const profile = await me(app, tokens.accessToken)
    t.equal(profile.statusCode, 200)
  })

  t.test('lifetimes: the smallest of the resource ttl, ACCESS_TOKEN_TTL and what the session has left', async (t) => {
    const user = await registerUser(app)
    const short = await postJson(app, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: SHORT
    })
    t.equal(short.json().expiresIn, 60, 'ttl shorter than ACCESS_TOKEN_TTL wins')
    t.equal(lifetime(short.json().accessToken), 60, 'and exp says so')
    const long = await postJson(app, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: INVOICES
    })
    t.equal(long.json().expiresIn, 900, 'ttl longer than ACCESS_TOKEN_TTL: ACCESS_TOKEN_TTL')
    t.equal(lifetime(long.json().accessToken), 900)
    const none = await postJson(app, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: BILLING
    })
    t.equal(none.json().expiresIn, 900, 'no ttl: ACCESS_TOKEN_TTL')
    const refreshed = await postForm(app, '/oauth/token', {
      grant_type: 'refresh_token', refresh_token: short.json().refreshToken, resource: SHORT
    })
    t.equal(refreshed.json().expires_in, 60, '/oauth/token refresh honours the ttl too')
    t.equal(lifetime(refreshed.json().access_token), 60)
  })

  t.test('near the end of the session, the session end caps a resource token', async (t) => {
    const shortSessions = await buildTestApp(t, { REFRESH_TOKEN_TTL: 30 }, { database })
    const user = await registerUser(shortSessions)
    const response = await postJson(shortSessions, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: SHORT
    })
    t.equal(response.statusCode, 200, response.body)
    t.ok(response.json().expiresIn <= 30, `expiresIn ${response.json().expiresIn} ≤ the 30 s left`)
    t.ok(lifetime(response.json().accessToken) <= 30)
  })

  t.test('refresh with a resource rotates exactly as without one; each refresh may name another', async (t) => {
    const tokens = await loginForTokens(app, await registerUser(app))
    const first = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken, resource: BILLING })
    t.equal(first.statusCode, 200, first.body)
    t.not(first.json().refreshToken, tokens.refreshToken, 'the refresh token rotated')
    t.equal(decodeJwt(first.json().accessToken).aud, BILLING)
    t.equal(first.json().sessionId, tokens.sessionId, 'the same session')
    const second = await postForm(app, '/oauth/token', {
      grant_type: 'refresh_token', refresh_token: first.json().refreshToken, resource: INVOICES
    })
    t.equal(second.statusCode, 200, second.body)
    t.equal(decodeJwt(second.json().access_token).aud, INVOICES, 'the session is not bound to a resource')
    const third = await postJson(app, '/auth/refresh', { refreshToken: second.json().refresh_token })
    t.equal(decodeJwt(third.json().accessToken).aud, AUDIENCE, 'and without one the token is for AUDIENCE again')
    const reused = await postJson(app, '/auth/refresh', { refreshToken: first.json().refreshToken, resource: BILLING })
    assertProblem(t, reused, 401, 'refresh_token_reused')
    const after = await postJson(app, '/auth/refresh', { refreshToken: third.json().refreshToken })
    assertProblem(t, after, 401, 'invalid_refresh_token')
  })

  t.test('an unknown or malformed resource: 400 invalid_target, and nothing is spent or issued', async (t) => {
    const user = await registerUser(app)
    const tokens = await loginForTokens(app, user)
    const bad = [
      `https://unknown.example.com/${suffix}`, '/relative/path', 'billing.example.com', `${BILLING}#frag`, '',
      'https://exa mple.com', `${BILLING}/`, BILLING.toUpperCase(), `https://x.example/${'a'.repeat(2100)}`
    ]
    for (const resource of bad) {
      const refresh = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken, resource })
      assertProblem(t, refresh, 400, 'invalid_target')
      const login = await postJson(app, '/auth/login', {
        email: user.email, password: user.password, delivery: 'body', resource
      })
      assertProblem(t, login, 400, 'invalid_target')
      if (resource !== '') {
        const oauth = await postForm(app, '/oauth/token', {
          grant_type: 'refresh_token', refresh_token: tokens.refreshToken, resource
        })
        assertOAuthError(t, oauth, 400, 'invalid_target')
      }
    }
    const still = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })
    t.equal(still.statusCode, 200, 'the refresh token was never spent by the refused requests')
    const sessions = await app.inject({
      method: 'GET', url: '/auth/sessions', headers: bearer(still.json().accessToken)
    })
    t.equal(sessions.json().sessions.length, 1, 'no refused login started a session: only the first login\'s')
  })

  t.test('an empty resource form parameter counts as omitted (RFC 6749 §3.1)', async (t) => {
    const tokens = await loginForTokens(app, await registerUser(app))
    const response = await postForm(app, '/oauth/token', {
      grant_type: 'refresh_token', refresh_token: tokens.refreshToken, resource: ''
    })
    t.equal(response.statusCode, 200, response.body)
    t.equal(decodeJwt(response.json().access_token).aud, AUDIENCE)
  })

  t.test('client_credentials with a resource: scopes registered for both', async (t) => {
    const client = await createServiceClient(app.db, { name: 'svc', scope: 'invoices:read shared client-only' })
    const auth = basic(client.clientId, client.clientSecret)
    const grant = async (params: Record<string, string>) =>
      await postForm(app, '/oauth/token', { grant_type: 'client_credentials', ...params }, auth)

    const shared = await grant({ resource: BILLING })
    t.equal(shared.statusCode, 200, shared.body)
    t.equal(shared.json().scope, 'invoices:read shared', 'no scope asked: every scope the two share')
    const { payload } = await jwtVerify(shared.json().access_token, jwks, {
      issuer: ISSUER, audience: BILLING, typ: 'at+jwt'
    })
    t.equal(payload.scope, 'invoices:read shared')
    t.equal(payload.sub, client.clientId)
    t.notOk('roles' in payload, 'client_credentials tokens carry no roles')

    const both = await grant({ resource: BILLING, scope: 'invoices:read' })
    t.equal(both.json().scope, 'invoices:read', 'a scope both have is granted')
    assertOAuthError(t, await grant({ resource: BILLING, scope: 'client-only' }), 400, 'invalid_scope')
    assertOAuthError(t, await grant({ resource: BILLING, scope: 'invoices:write' }), 400, 'invalid_scope')
    assertOAuthError(t, await grant({ resource: BILLING, scope: 'invoices:read nobody' }), 400, 'invalid_scope')
    assertOAuthError(t, await grant({ resource: `https://nope.example/${suffix}` }), 400, 'invalid_target')
    assertOAuthError(t, await grant({ resource: 'relative' }), 400, 'invalid_target')
    assertOAuthError(t, await grant({ resource: `${BILLING}#x` }), 400, 'invalid_target')

    const withoutResource = await grant({ scope: 'client-only' })
    t.equal(withoutResource.json().scope, 'client-only', 'without a resource, the client\'s scopes alone decide')
    t.equal(decodeJwt(withoutResource.json().access_token).aud, AUDIENCE)

    const capped = await grant({ resource: SHORT })
    t.equal(capped.json().expires_in, 60, 'the resource ttl caps client tokens too')
    t.notOk('scope' in capped.json(), 'nothing shared: no scope')
    const json = await postJson(app, '/oauth/token', { grant_type: 'client_credentials', resource: INVOICES }, auth)
    t.equal(json.statusCode, 200, 'resource in a JSON body too')
    t.equal(decodeJwt(json.json().access_token).aud, INVOICES)
  })

  t.test('introspection reports the token\'s own aud', async (t) => {
    const client = await createServiceClient(app.db, { name: 'introspector' })
    const user = await registerUser(app)
    const response = await postJson(app, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: BILLING
    })
    const result = await postForm(
      app, '/oauth/introspect', { token: response.json().accessToken }, basic(client.clientId, client.clientSecret)
    )
    t.equal(result.statusCode, 200)
    t.match(result.json(), { active: true, aud: BILLING, sub: user.id, roles: [] })
  })

  t.test('registering an existing URI again updates what it names', async (t) => {
    const uri = `https://update.example.com/${suffix}`
    t.same(await registerResource(app.db, { uri, scopes: 'a b', ttlSeconds: 120 }), {
      uri, scopes: ['a', 'b'], ttlSeconds: 120
    })
    t.same(await registerResource(app.db, { uri, scopes: 'c' }), { uri, scopes: ['c'], ttlSeconds: null })
    const user = await registerUser(app)
    const response = await postJson(app, '/auth/login', {
      email: user.email, password: user.password, delivery: 'body', resource: uri
    })
    t.equal(response.json().expiresIn, 900, 'the ttl was cleared by the update')
  })

  t.test('registration refuses malformed input with one line and changes nothing', async (t) => {
    for (const [input, message] of [
      [{ uri: 'relative' }, /absolute URI/],
      [{ uri: 'https://x.example/#f' }, /fragment/],
      [{ uri: 'https://x.example/', scopes: 'ok "bad' }, /invalid scope/],
      [{ uri: 'https://x.example/', ttlSeconds: 0 }, /ttl/],
      [{ uri: 'https://x.example/', ttlSeconds: 1.5 }, /ttl/],
      [{ uri: 'https://x.example/', ttlSeconds: 86_401 }, /ttl/]
    ] as const) {
      await t.rejects(registerResource(app.db, input), { name: 'OperatorError', message }, JSON.stringify(input))
    }
    const found = await app.db.selectFrom('resource_servers').select('uri')
      .where('uri', '=', 'https://x.example/').execute()
    t.same(found, [], 'nothing was registered')
  })
})
