import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { ConfigError, loadConfig as loadConfigFrom } from '../../src/config.js'
import { buildTestApp, openTestDatabase, uniqueEmail } from '../helper.js'

// Parsing alone: a fixed development secret, so that no test writes one into ./data.
const loadConfig = (env: Record<string, string | undefined>) =>
  loadConfigFrom(env, { developmentSecret: () => 'fixed-development-secret-for-parsing-tests' })

/**
 * X-Forwarded-For is believed only from a connection whose own address is a configured proxy.
 * A hop count or `true` cannot say which connections those are, so they are refused in
 * production and narrowed to loopback proxies elsewhere.
 */
const PRODUCTION = { NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y', ISSUER: 'https://a.example', KEY_ENCRYPTION_SECRET: 'x'.repeat(32) }
const limits = { RATE_LIMIT_ENABLED: true, RATE_LIMIT_LOGIN_MAX: 3 }

async function loginFrom (
  app: FastifyInstance, remoteAddress: string, forwardedFor: string
): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress,
    payload: JSON.stringify({ email: uniqueEmail('xff'), password: 'not the password 1' }),
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor }
  })
}

t.test('config: hop counts and `true` are refused in production with one line', async (t) => {
  for (const value of ['1', '2', 'true']) {
    const error = t.throws(() => loadConfig({ ...PRODUCTION, TRUST_PROXY: value })) as Error
    t.type(error, ConfigError)
    t.match(error.message, /TRUST_PROXY/, `TRUST_PROXY=${value} is named`)
    t.notMatch(error.message, /\n/, 'one line')
  }
  const cidr = loadConfig({ ...PRODUCTION, TRUST_PROXY: '10.0.0.0/8' })
  t.same(cidr.TRUST_PROXY, ['10.0.0.0/8'], 'addresses/CIDRs are fine')
})

t.test('config: outside production, hop counts and `true` become loopback-only, with a warning', async (t) => {
  for (const value of ['1', 'true']) {
    const config = loadConfig({ TRUST_PROXY: value })
    t.same(config.TRUST_PROXY, ['loopback'], `TRUST_PROXY=${value}`)
    t.match(config.CONFIG_WARNINGS.join(' '), /TRUST_PROXY/)
  }
  t.same(loadConfig({}).CONFIG_WARNINGS, [], 'no warning by default')
})

t.test('a direct client can never choose its address', async (t) => {
  const database = await openTestDatabase(t)
  for (const setting of ['1', '2', 'true', '10.0.0.0/8']) {
    t.test(`TRUST_PROXY=${setting}: rotating X-Forwarded-For from one non-proxy socket still hits 429`, async (t) => {
      const app = await buildTestApp(t, { ...limits, TRUST_PROXY: setting }, { database })
      const statuses: number[] = []
      for (let i = 1; i <= 5; i++) statuses.push((await loginFrom(app, '203.0.113.9', `198.51.100.${i}`)).statusCode)
      t.same(statuses, [401, 401, 401, 429, 429], 'the socket address, not the forged one, is the key')
    })
  }

  t.test('a configured proxy is believed: each forwarded client has its own budget', async (t) => {
    const app = await buildTestApp(t, { ...limits, TRUST_PROXY: '10.0.0.0/8' }, { database })
    for (let i = 1; i <= 5; i++) {
      t.equal((await loginFrom(app, '10.1.2.3', `198.51.100.${20 + i}`)).statusCode, 401, `forwarded client ${i}`)
    }
    const chain = '198.51.100.40, 203.0.113.77'
    for (let i = 1; i <= 3; i++) t.equal((await loginFrom(app, '10.1.2.3', chain)).statusCode, 401)
    const limited = await loginFrom(app, '10.1.2.3', chain)
    t.equal(limited.statusCode, 429, 'the first untrusted hop (203.0.113.77) is the key')
  })
})
