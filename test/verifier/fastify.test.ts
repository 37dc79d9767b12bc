import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { fastifyVerifier } from '../../packages/verifier/src/index.js'
import { buildVerifierKit } from '../support/build-verifier-kit.js'
import { KIT_AUDIENCE, logout, newSession, startService, within } from './verifier-helpers.js'

/*
 * fastifyVerifier on a consumer app: 200 with request.accessToken, 401 problem+json for
 * invalid_token and token_revoked (with WWW-Authenticate: Bearer), 503 service_unavailable when
 * the feed is stale and the kit fails closed. And the built package imports as its exports say.
 */

const service = await startService(t)

async function consumer (t: Test, options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyVerifier, { issuer: service.issuer, audience: KIT_AUDIENCE, ...options })
  app.get('/orders', { preHandler: app.requireAccessToken }, async (request) => ({
    sub: request.accessToken?.sub, sid: request.accessToken?.sid
  }))
  app.get('/public', async () => ({ ok: true }))
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

const get = async (app: FastifyInstance, token?: string): Promise<LightMyRequestResponse> =>
  await app.inject({ url: '/orders', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

function assertProblem (t: Test, response: LightMyRequestResponse, status: number, code: string): void {
  t.equal(response.statusCode, status, `${status} (${response.body.slice(0, 160)})`)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.match(response.json(), { type: String, title: String, status, detail: String, code })
  if (status === 401) {
    t.match(response.headers['www-authenticate'], /^Bearer error="invalid_token"/, 'WWW-Authenticate: Bearer')
  }
}

t.test('requireAccessToken: claims, invalid_token, token_revoked', async (t) => {
  const app = await consumer(t)
  const session = await newSession(service.issuer)
  const ok = await get(app, session.accessToken)
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { sub: session.userId, sid: session.sessionId }, 'request.accessToken holds the claims')
  t.equal((await app.inject('/public')).statusCode, 200, 'routes without the preHandler are untouched')

  assertProblem(t, await get(app), 401, 'invalid_token')
  assertProblem(t, await get(app, 'garbage.token.here'), 401, 'invalid_token')
  const basic = await app.inject({ url: '/orders', headers: { authorization: `Basic ${session.accessToken}` } })
  assertProblem(t, basic, 401, 'invalid_token')
  t.notMatch(
    (await get(app, session.accessToken.slice(0, -2))).body, session.accessToken.slice(0, 40),
    'the token is never echoed'
  )

  await logout(service.issuer, session)
  await within(2_000, 'revoked', async () => (await get(app, session.accessToken)).statusCode === 401)
  assertProblem(t, await get(app, session.accessToken), 401, 'token_revoked')
})

t.test('a stale feed with failMode closed: 503 service_unavailable; ' +
  'the app still starts without the service', async (t) => {
  const own = await startService(t)
  const session = await newSession(own.issuer)
  const app = Fastify()
  await app.register(fastifyVerifier, { issuer: own.issuer, audience: KIT_AUDIENCE, maxStalenessSeconds: 1 })
  app.get('/orders', { preHandler: app.requireAccessToken }, async (request) => ({ sub: request.accessToken?.sub }))
  t.teardown(async () => { await app.close() })
  await app.ready()
  t.equal((await get(app, session.accessToken)).statusCode, 200)
  t.ok(app.accessTokenVerifier.staleness() < 2, 'the verifier is reachable as accessTokenVerifier')
  await own.stop()
  await within(4_000, '503', async () => (await get(app, session.accessToken)).statusCode === 503)
  const refused = await get(app, session.accessToken)
  assertProblem(t, refused, 503, 'service_unavailable')
  t.ok(refused.headers['retry-after'], 'with Retry-After')

  // A consumer started while the token service is down starts anyway, answering 503 meanwhile.
  const early = await consumer(t, { issuer: own.issuer })
  assertProblem(t, await get(early, session.accessToken), 503, 'service_unavailable')
  await own.restart()
  await within(5_000, '200 again', async () => (await get(app, session.accessToken)).statusCode === 200)
  await within(3_000, 'the early consumer heals', async () =>
    (await get(early, session.accessToken)).statusCode === 200)
  t.pass('both heal by themselves')
})

t.test('the built package imports through its exports on Node', async (t) => {
  const root = new URL('../../', import.meta.url).pathname
  const run = promisify(execFile)
  await buildVerifierKit({ force: true })
  const script = "const m = await import('@token-service/verifier'); " +
    'console.log(JSON.stringify(Object.keys(m).sort().map((k) => [k, typeof m[k]])))'
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root })
  t.same(
    JSON.parse(stdout),
    [['VerifierError', 'function'], ['createVerifier', 'function'], ['fastifyVerifier', 'function']]
  )
  const { stdout: types } = await run('ls', [`${root}packages/verifier/dist`])
  t.match(types, /index\.d\.ts/, 'with type declarations')
})
