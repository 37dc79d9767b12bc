import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig as loadConfigFrom } from '../src/config.js'
import { DEV_SECRET_FILE } from '../src/lib/dev-secret.js'

// Parsing alone: a fixed development secret, so that no test writes one into ./data.
const DEVELOPMENT_SECRET = 'fixed-development-secret-for-parsing-tests'
const loadConfig = (env: Record<string, string | undefined>) =>
  loadConfigFrom(env, { developmentSecret: () => DEVELOPMENT_SECRET })

t.test('development defaults need no configuration at all', async (t) => {
  const config = loadConfig({})
  t.equal(config.PORT, 3000)
  t.equal(config.DATABASE_URL, undefined, 'embedded PGlite')
  t.equal(config.DATA_DIR, './data')
  t.equal(config.JWT_ALG, 'ES256')
  t.equal(config.ACCESS_TOKEN_TTL, 900)
  t.equal(config.REFRESH_TOKEN_TTL, 1_209_600)
  t.equal(config.SESSION_IDLE_TTL, 86_400)
  t.equal(config.REFRESH_REUSE_GRACE_SECONDS, 10)
  t.equal(config.ISSUER, 'http://localhost:3000')
  t.same(config.ALLOWED_ORIGINS, ['http://localhost:3000'], 'the issuer origin by default')
  t.equal(config.COOKIE_SECURE, true)
  t.equal(config.TRUST_PROXY, false, 'X-Forwarded-For is not trusted by default')
  t.equal(config.KEY_ENCRYPTION_SECRET, DEVELOPMENT_SECRET, 'the development secret is filled in')
  t.ok(Object.isFrozen(config))
})

t.test('outside production the development secret is created once in DATA_DIR (0600) and reused', async (t) => {
  const root = t.testdir()
  const dataDir = join(root, 'data')
  const first = loadConfigFrom({ DATA_DIR: dataDir })
  const path = join(dataDir, DEV_SECRET_FILE)
  t.ok(first.KEY_ENCRYPTION_SECRET.length >= 32, 'at least 32 characters')
  t.equal(readFileSync(path, 'utf8').trim(), first.KEY_ENCRYPTION_SECRET, 'kept in DATA_DIR')
  t.equal(statSync(path).mode & 0o777, 0o600, 'readable by the service user only')
  t.equal(statSync(dataDir).mode & 0o777, 0o700, 'DATA_DIR is private')
  const second = loadConfigFrom({ DATA_DIR: dataDir })
  t.equal(second.KEY_ENCRYPTION_SECRET, first.KEY_ENCRYPTION_SECRET, 'the next run reuses it')

  const given = 'g'.repeat(32)
  const otherDir = join(root, 'given')
  t.equal(loadConfigFrom({ DATA_DIR: otherDir, KEY_ENCRYPTION_SECRET: given }).KEY_ENCRYPTION_SECRET, given)
  t.notOk(existsSync(otherDir), 'a given secret writes nothing')

  const notADirectory = join(root, 'a-file')
  writeFileSync(notADirectory, '')
  const unwritable = t.throws(() => loadConfigFrom({ DATA_DIR: notADirectory })) as Error
  t.type(unwritable, ConfigError, 'a DATA_DIR that cannot hold the secret is a configuration error')
  t.match(unwritable.message, /development secret in DATA_DIR .*KEY_ENCRYPTION_SECRET/)
  t.notMatch(unwritable.message, /\n/, 'one line')

  writeFileSync(path, 'short\n')
  const error = t.throws(() => loadConfigFrom({ DATA_DIR: dataDir })) as Error
  t.type(error, ConfigError)
  t.match(error.message, new RegExp(`${DEV_SECRET_FILE} is shorter than 32 characters`))
})

t.test('parses typed values from strings', async (t) => {
  const config = loadConfig({ PORT: '8080', COOKIE_SECURE: 'false', ALLOWED_ORIGINS: 'https://a.example, https://b.example', TRUST_PROXY: '2', ISSUER: 'https://auth.example/', JWT_ALG: 'EdDSA' })
  t.equal(config.PORT, 8080)
  t.equal(config.COOKIE_SECURE, false)
  t.same(config.ALLOWED_ORIGINS, ['https://a.example', 'https://b.example'])
  t.same(config.TRUST_PROXY, ['loopback'], 'a hop count is narrowed to loopback proxies outside production')
  t.equal(config.ISSUER, 'https://auth.example', 'trailing slash dropped')
  t.equal(config.AUDIENCE, 'https://auth.example')
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY, ['10.0.0.0/8', '127.0.0.1'])
})

t.test('names every invalid variable in one message', async (t) => {
  const error = t.throws(() => loadConfig({ PORT: 'abc', JWT_ALG: 'HS256', KEY_ENCRYPTION_SECRET: 'short' })) as Error
  t.type(error, ConfigError)
  t.match(error.message, /PORT/)
  t.match(error.message, /JWT_ALG/)
  t.match(error.message, /KEY_ENCRYPTION_SECRET/)
  t.notMatch(error.message, /\n/, 'one line')
  t.throws(() => loadConfig({ ISSUER: 'not a url' }), /ISSUER/)
  t.throws(() => loadConfig({ ACCESS_TOKEN_TTL: '-5' }), /ACCESS_TOKEN_TTL/)
})

t.test('production refuses to start without DATABASE_URL, ISSUER and KEY_ENCRYPTION_SECRET', async (t) => {
  const dataDir = join(t.testdir(), 'data')
  const production = {
    NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y', ISSUER: 'https://a.example', DATA_DIR: dataDir
  }
  t.throws(() => loadConfigFrom(production), /KEY_ENCRYPTION_SECRET$/)
  t.notOk(existsSync(dataDir), 'no development secret is generated in production')
  t.throws(() => loadConfig({ NODE_ENV: 'production' }), /DATABASE_URL, ISSUER, KEY_ENCRYPTION_SECRET/)
  t.throws(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y', ISSUER: 'https://a.example' }), /missing required configuration for NODE_ENV=production: KEY_ENCRYPTION_SECRET$/)
  t.doesNotThrow(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x/y', ISSUER: 'https://a.example', KEY_ENCRYPTION_SECRET: 'x'.repeat(32) }))
})

t.test('the server process exits 1 with one clear line when production config is missing', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production', ISSUER: 'https://auth.example' },
    encoding: 'utf8',
    timeout: 60_000
  })
  t.equal(result.status, 1)
  const lines = result.stderr.trim().split('\n')
    .filter((line) => !line.includes('ExperimentalWarning') && !line.includes('--trace-warnings'))
  t.same(lines, [
    'token-service: missing required configuration for NODE_ENV=production: DATABASE_URL, KEY_ENCRYPTION_SECRET'
  ])
})

t.test('an unknown NODE_ENV refuses to start with one line (no silent development mode)', async (t) => {
  for (const value of ['prod', 'Production', 'staging', 'PRODUCTION']) {
    const error = t.throws(() => loadConfig({ NODE_ENV: value })) as Error
    t.type(error, ConfigError)
    t.match(error.message, /NODE_ENV/, `NODE_ENV=${value} is named`)
    t.notMatch(error.message, /\n/, 'one line')
  }
  for (const value of ['development', 'test']) t.equal(loadConfig({ NODE_ENV: value }).NODE_ENV, value)
})

t.test('REFRESH_REUSE_GRACE_SECONDS is capped at 60', async (t) => {
  t.equal(loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '60' }).REFRESH_REUSE_GRACE_SECONDS, 60)
  t.equal(loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '0' }).REFRESH_REUSE_GRACE_SECONDS, 0)
  const error = t.throws(() => loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '61' })) as Error
  t.match(error.message, /REFRESH_REUSE_GRACE_SECONDS/)
  t.notMatch(error.message, /\n/, 'one line')
})
