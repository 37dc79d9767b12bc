import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { generateKeyPair, SignJWT } from 'jose'
import { buildConsumer } from '../../examples/consumer/index.js'
import { signAccessToken } from '../../src/domain/tokens/access-token.js'
import { buildTestApp, STRONG_PASSWORD, uniqueEmail } from '../helper.js'
import { ALGORITHMS, bearer, tamperPayload, TEST_AUDIENCE, TEST_ISSUER } from '../tokens/token-fixtures.js'

/*
 * Another microservice verifies access tokens offline with @fastify/jwt +
 * get-jwks given only the service's address. examples/consumer is that microservice; this runs it
 * against the real token service, listening on a real port, for every signing algorithm.
 */

async function listen (app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

/** Register and log in (delivery "body") over HTTP, as a client of the service would. */
async function registerAndLoginOverHttp (baseUrl: string): Promise<{ userId: string, accessToken: string }> {
  const credentials = { email: uniqueEmail('consumer'), password: STRONG_PASSWORD }
  const post = async (path: string, body: unknown): Promise<Response> => await fetch(`${baseUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  const registered = await post('/auth/register', credentials)
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`)
  const { user } = await registered.json() as { user: { id: string } }
  const loggedIn = await post('/auth/login', { ...credentials, delivery: 'body' })
  if (loggedIn.status !== 200) throw new Error(`login failed: ${loggedIn.status} ${await loggedIn.text()}`)
  const { accessToken } = await loggedIn.json() as { accessToken: string }
  return { userId: user.id, accessToken }
}

for (const alg of ALGORITHMS) {
  t.test(`examples/consumer accepts the service's ${alg} access tokens and refuses everything else`, async (t) => {
    const service = await buildTestApp(t, { JWT_ALG: alg, ISSUER: TEST_ISSUER, AUDIENCE: TEST_AUDIENCE })
    const serviceUrl = await listen(service)
    const consumer = await buildConsumer({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, jwksBaseUrl: serviceUrl })
    t.teardown(async () => { await consumer.close() })

    const { userId, accessToken } = await registerAndLoginOverHttp(serviceUrl)
    const hello = async (authorization?: string) => await consumer.inject({
      method: 'GET', url: '/hello', headers: authorization === undefined ? {} : { authorization }
    })

    const ok = await hello(bearer(accessToken))
    t.equal(ok.statusCode, 200, `a fresh access token is accepted (${ok.body.slice(0, 200)})`)
    t.same(ok.json(), { hello: userId }, 'the consumer sees the user id as sub')

    t.equal((await hello()).statusCode, 401, 'no token: 401')
    t.equal((await hello('Basic dXNlcjpwYXNz')).statusCode, 401, 'not a Bearer token: 401')
    t.equal((await hello(bearer('not.a.jwt'))).statusCode, 401, 'garbage: 401')
    t.equal((await hello(bearer(tamperPayload(accessToken, { sub: 'someone-else' })))).statusCode, 401, 'tampered payload: 401')

    const otherAudience = await signAccessToken({ ...service.accessTokenDeps, audience: 'http://other.test' }, { sub: 'x', clientId: 'y' })
    t.equal((await hello(bearer(otherAudience.token))).statusCode, 401, 'a token for another audience: 401')

    const otherIssuer = await signAccessToken({ ...service.accessTokenDeps, issuer: 'http://evil.test' }, { sub: 'x', clientId: 'y' })
    t.equal((await hello(bearer(otherIssuer.token))).statusCode, 401, 'a token from another issuer: 401')

    const anHourAgo = new Date(Date.now() - 3_600_000)
    const expired = await signAccessToken({ ...service.accessTokenDeps, clock: { now: () => anHourAgo } }, { sub: 'x', clientId: 'y' })
    t.equal((await hello(bearer(expired.token))).statusCode, 401, 'an expired token: 401')

    const { privateKey } = await generateKeyPair('ES256')
    const unknownKey = await new SignJWT({ client_id: 'y' })
      .setProtectedHeader({ alg: 'ES256', kid: 'not-published', typ: 'at+jwt' })
      .setIssuer(TEST_ISSUER).setAudience(TEST_AUDIENCE).setSubject('x').setIssuedAt().setExpirationTime('5m')
      .sign(privateKey)
    const unknown = await hello(bearer(unknownKey))
    t.equal(unknown.statusCode, 401, `a token signed by a key the JWKS does not publish: 401 (${unknown.body.slice(0, 200)})`)
  })
}
