import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { registerResource } from '../../src/domain/authorization/resources.js'
import { changeRoles } from '../../src/domain/authorization/roles.js'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { createVerifier, fastifyVerifier, type AccessTokenClaims } from '../../packages/verifier/src/index.js'
import { kit, newSession, outcome, startService, type Session } from './verifier-helpers.js'

/*
 * The kit and the authorization data in tokens: a token minted for one resource server (RFC 8707)
 * is refused by a kit configured for another, `roles` reach request.accessToken, and requireRole
 * answers 403 for a valid token without the role while bad tokens stay 401.
 */

const service = await startService(t)
const { issuer } = service
// Unique per run, so runs sharing a PostgreSQL database never see each other's registrations.
const suffix = `${process.pid}-${Date.now()}`
const BILLING = `https://billing.example.com/${suffix}`
const INVOICES = `https://invoices.example.com/${suffix}`
await registerResource(service.app.db, { uri: BILLING, scopes: 'invoices:read' })
await registerResource(service.app.db, { uri: INVOICES, scopes: 'invoices:read' })

async function postJson (path: string, body: unknown): Promise<Response> {
  return await fetch(`${issuer}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
}

/** Log in again (a new session) asking for a token for `resource`. */
async function loginFor (session: Session, resource: string): Promise<{ accessToken: string, refreshToken: string }> {
  const response = await postJson('/auth/login', {
    email: session.email, password: session.password, delivery: 'body', resource
  })
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`)
  return await response.json() as { accessToken: string, refreshToken: string }
}

async function clientToken (resource?: string): Promise<string> {
  const client = await createServiceClient(service.app.db, { name: 'kit-authz', scope: 'invoices:read' })
  const params = new URLSearchParams({
    grant_type: 'client_credentials', ...(resource === undefined ? {} : { resource })
  })
  const response = await fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`
    },
    body: params.toString()
  })
  if (response.status !== 200) throw new Error(`client_credentials failed: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

t.test('a token for resource A is refused by a kit for resource B, and accepted by a kit for A', async (t) => {
  const billing = await kit(t, service, { audience: BILLING })
  const invoices = await kit(t, service, { audience: INVOICES })
  const own = await kit(t, service)
  const session = await newSession(issuer)
  const forBilling = (await loginFor(session, BILLING)).accessToken

  t.equal(await outcome(billing, forBilling), 'ok', 'the billing kit accepts a billing token')
  t.equal((await billing.verify(forBilling)).aud, BILLING, 'whose aud is exactly the resource')
  t.equal(await outcome(invoices, forBilling), 'invalid_token', 'the invoices kit refuses it')
  await t.rejects(invoices.verify(forBilling), { code: 'invalid_token', message: /aud/ }, 'because of its aud')
  t.equal(await outcome(own, forBilling), 'invalid_token', 'a kit for the service audience refuses it too')

  t.equal(await outcome(own, session.accessToken), 'ok', 'a token without resource is for the service audience')
  t.equal(await outcome(billing, session.accessToken), 'invalid_token', 'and is no key to the billing service')

  const machine = await clientToken(INVOICES)
  t.equal(await outcome(invoices, machine), 'ok', 'a client_credentials token for invoices: accepted there')
  t.equal(await outcome(billing, machine), 'invalid_token', 'refused by billing')
})

t.test('roles: sorted, [] when none, absent from client_credentials tokens', async (t) => {
  const verifier = await kit(t, service, { audience: BILLING })
  const session = await newSession(issuer)
  t.same((await verifier.verify((await loginFor(session, BILLING)).accessToken)).roles, [], 'no roles: an empty array')

  await changeRoles(service.app.db, session.email, { add: ['billing:read', 'admin'], remove: [] })
  const claims: AccessTokenClaims = await verifier.verify((await loginFor(session, BILLING)).accessToken)
  const roles: string[] | undefined = claims.roles
  t.same(roles, ['admin', 'billing:read'], 'the user\'s roles, sorted, typed string[]')

  const machine = await verifier.verify(await clientToken(BILLING))
  t.equal(machine.roles, undefined, 'a client_credentials token has no roles')
  t.notOk('roles' in machine, 'not even an empty claim')
  t.equal(machine.scope, 'invoices:read')
})

async function consumer (t: Test, audience: string): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyVerifier, { issuer, audience })
  app.get('/admin', { preHandler: app.requireRole('admin') },
    async (request) => ({ roles: request.accessToken?.roles }))
  app.get('/admin-listed', { preHandler: [app.requireAccessToken, app.requireRole('admin')] },
    async () => ({ ok: true }))
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

const get = async (app: FastifyInstance, url: string, token?: string): Promise<LightMyRequestResponse> =>
  await app.inject({ url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

function assertProblem (t: Test, response: LightMyRequestResponse, status: number, code: string): void {
  t.equal(response.statusCode, status, `${status} (${response.body.slice(0, 160)})`)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), { type: String, title: String, status, detail: String, code })
}

t.test('requireRole: 200 with the role, 403 insufficient_role without, 401 for a bad token', async (t) => {
  const app = await consumer(t, BILLING)
  const admin = await newSession(issuer)
  await changeRoles(service.app.db, admin.email, { add: ['admin'], remove: [] })
  const adminTokens = await loginFor(admin, BILLING)
  const plain = await newSession(issuer)
  const plainToken = (await loginFor(plain, BILLING)).accessToken

  for (const url of ['/admin', '/admin-listed']) {
    const ok = await get(app, url, adminTokens.accessToken)
    t.equal(ok.statusCode, 200, `${url}: an admin passes (${ok.body.slice(0, 120)})`)
    const refused = await get(app, url, plainToken)
    assertProblem(t, refused, 403, 'insufficient_role')
    t.notOk(refused.headers['www-authenticate'], 'a 403 asks for no other token')
    assertProblem(t, await get(app, url, await clientToken(BILLING)), 403, 'insufficient_role')
    const missing = await get(app, url)
    assertProblem(t, missing, 401, 'invalid_token')
    t.match(missing.headers['www-authenticate'], /^Bearer error="invalid_token"/)
    assertProblem(t, await get(app, url, admin.accessToken), 401, 'invalid_token')
  }
  t.same((await get(app, '/admin', adminTokens.accessToken)).json(), { roles: ['admin'] }, 'request.accessToken is set')

  // A removal reaches the next token: the refresh re-reads the roles.
  await changeRoles(service.app.db, admin.email, { add: [], remove: ['admin'] })
  const refreshed = await postJson('/auth/refresh', { refreshToken: adminTokens.refreshToken, resource: BILLING })
  t.equal(refreshed.status, 200)
  const next = ((await refreshed.json()) as { accessToken: string }).accessToken
  assertProblem(t, await get(app, '/admin', next), 403, 'insufficient_role')

  t.throws(() => app.requireRole('Admin'), TypeError, 'a role name that no token can carry is refused at start')
  t.throws(() => app.requireRole(''), TypeError)
})

t.test('audience is required', async (t) => {
  t.throws(() => createVerifier({ issuer } as unknown as Parameters<typeof createVerifier>[0]), TypeError, 'missing')
  t.throws(() => createVerifier({ issuer, audience: '' }), TypeError, 'empty')
})
