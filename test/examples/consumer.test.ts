import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { generateKeyPair, SignJWT } from 'jose'
import { signAccessToken } from '../../src/domain/tokens/access-token.js'
import { buildVerifierKit } from '../support/build-verifier-kit.js'
import { ALGORITHMS, tamperPayload } from '../tokens/token-fixtures.js'
import { KIT_AUDIENCE, logout, newSession, startService, within } from '../verifier/verifier-helpers.js'
import { bearerValue } from '../support/auth-steps.js'

/*
 * Another microservice verifies access tokens offline with the verifier kit,
 * given only the service's address, and refuses a revoked session's tokens within seconds.
 * examples/consumer is that microservice (plain JavaScript importing the BUILT kit, as a real
 * consumer would); this runs it against the real token service, listening on a real port, for
 * every signing algorithm.
 */

await buildVerifierKit()
const { buildConsumer } = await import('../../examples/consumer/index.js') as {
  buildConsumer: (options: { issuer: string, audience: string }) => Promise<FastifyInstance>
}

for (const alg of ALGORITHMS) {
  t.test(`examples/consumer accepts the service's ${alg} access tokens and refuses everything else`, async (t) => {
    const service = await startService(t, { JWT_ALG: alg })
    const { issuer } = service
    const consumer = await buildConsumer({ issuer, audience: KIT_AUDIENCE })
    t.teardown(async () => { await consumer.close() })
    await consumer.ready()

    const session = await newSession(issuer)
    const hello = async (authorization?: string) => await consumer.inject({
      method: 'GET', url: '/hello', headers: authorization === undefined ? {} : { authorization }
    })
    const refused = async (authorization: string | undefined, code: string, what: string): Promise<void> => {
      const response = await hello(authorization)
      t.equal(response.statusCode, 401, `${what}: 401`)
      t.equal(response.json().code, code, `${what}: ${code}`)
    }

    const ok = await hello(bearerValue(session.accessToken))
    t.equal(ok.statusCode, 200, `a fresh access token is accepted (${ok.body.slice(0, 200)})`)
    t.same(ok.json(), { hello: session.userId }, 'the consumer sees the user id as sub')

    await refused(undefined, 'invalid_token', 'no token')
    await refused('Basic dXNlcjpwYXNz', 'invalid_token', 'not a Bearer token')
    await refused(bearerValue('not.a.jwt'), 'invalid_token', 'garbage')
    const tampered = tamperPayload(session.accessToken, { sub: 'someone-else' })
    await refused(bearerValue(tampered), 'invalid_token', 'tampered payload')

    const deps = service.app.services.wiring.accessTokens
    const subject = { sub: 'x', clientId: 'y' }
    const otherAudience = (await signAccessToken({ ...deps, audience: 'http://other.test' }, subject)).token
    await refused(bearerValue(otherAudience), 'invalid_token', 'another audience')
    const otherIssuer = (await signAccessToken({ ...deps, issuer: 'http://evil.test' }, subject)).token
    await refused(bearerValue(otherIssuer), 'invalid_token', 'another issuer')
    const anHourAgo = new Date(Date.now() - 3_600_000)
    const expired = (await signAccessToken({ ...deps, clock: { now: () => anHourAgo } }, subject)).token
    await refused(bearerValue(expired), 'invalid_token', 'expired')

    const { privateKey } = await generateKeyPair('ES256')
    const unknownKey = await new SignJWT({ client_id: 'y' })
      .setProtectedHeader({ alg: 'ES256', kid: 'not-published', typ: 'at+jwt' })
      .setIssuer(issuer).setAudience(KIT_AUDIENCE).setSubject('x').setIssuedAt().setExpirationTime('5m')
      .sign(privateKey)
    await refused(bearerValue(unknownKey), 'invalid_token', 'a key the JWKS does not publish')

    await logout(issuer, session)
    await within(2_000, 'token_revoked', async () => (await hello(bearerValue(session.accessToken))).statusCode === 401)
    await refused(bearerValue(session.accessToken), 'token_revoked', 'after logout')
  })
}
