import t from 'tap'
import type { FastifyServerOptions } from 'fastify'
import { buildApp, loggerOptions } from '../../src/app.js'
import { buildTestApp, openTestDatabase, testConfig } from '../helper.js'
import { tamperPayload } from '../tokens/token-fixtures.js'
import { bearerValue, meWith, registerAndLogin } from '../support/auth-steps.js'

/**
 * Unauthenticated traffic must not amplify logs: a rejected access token is logged as one short
 * line with its error code, never with a stack trace or the token's claims.
 */
type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>

t.test('a rejected access token is logged with its code only', async (t) => {
  const database = await openTestDatabase(t)
  const issuing = await buildTestApp(t, {}, { database })
  const { accessToken } = await registerAndLogin(issuing)

  const lines: string[] = []
  // Same keys (same database and secret), another audience: the signature verifies, the claims do not.
  const config = testConfig({ LOG_LEVEL: 'info', AUDIENCE: 'http://other-api.test' })
  const logger = {
    ...(loggerOptions(config.LOG_LEVEL) as LoggerOptions),
    level: 'info',
    stream: { write: (line: string) => { lines.push(line) } }
  } as LoggerOptions
  const app = buildApp({ config, database, logger })
  t.teardown(async () => { await app.close() })
  await app.ready()

  const rejected = [
    { label: 'claims that do not validate (audience)', token: accessToken },
    { label: 'a bad signature', token: tamperPayload(accessToken, { sub: 'someone-else' }) },
    { label: 'garbage', token: 'not.a.jwt' }
  ]
  for (const { label, token } of rejected) {
    lines.length = 0
    const response = await meWith(app, bearerValue(token))
    t.equal(response.statusCode, 401, `${label}: 401`)
    const logged = lines.join('\n')
    t.notMatch(logged, /"stack"/, `${label}: no stack trace`)
    t.notMatch(logged, /"payload"|"claim"|first-party|"sub"/, `${label}: no claims`)
    t.notMatch(logged, /\bat \S+ \(/, `${label}: no stack frames anywhere`)
    const rejections = lines.filter((line) => line.includes('request rejected'))
    t.equal(rejections.length, 1, `${label}: one line says so`)
    t.match(rejections[0] ?? '', /"code":"invalid_token"/, `${label}: with the error code`)
    t.ok((rejections[0] ?? '').length < 600, `${label}: and short (${(rejections[0] ?? '').length} chars)`)
  }
})
