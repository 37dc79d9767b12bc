import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { migrations } from '../../migrations/index.js'
import { buildApp } from '../../src/app.js'
import { DEV_SECRET_FILE } from '../../src/lib/dev-secret.js'
import { TEST_ENV, testConfig } from '../helper.js'
import { command, explicitSecret, freshTarget, lines } from '../support/commands.js'
import { anHourAgo, setKeyPublication } from '../support/key-publication.js'

/**
 * One operator's story on one database, in order: migrate an empty database, migrate again,
 * create a service client and use it, rotate the keys twice. Each step runs the real command,
 * then opens an app on the database once the command has exited. A rotation right after the next
 * key was published is refused (verifiers may not have cached it yet); between rotations the test
 * dates the keys' publication back, as the passing of time would.
 */
t.test('operator commands on one database', async (t) => {
  const target = await freshTarget(t)
  const env = explicitSecret ? { ...target.env, KEY_ENCRYPTION_SECRET: TEST_ENV.KEY_ENCRYPTION_SECRET! } : target.env
  const appOnTarget = async (t: Test): Promise<FastifyInstance> => {
    // Without a secret the configuration takes the development one the commands created in DATA_DIR.
    const secret: Record<string, string> = explicitSecret ? {} : { KEY_ENCRYPTION_SECRET: '' }
    const config = testConfig({ ...target.config, MIGRATE_ON_START: true, ...secret })
    const app = await buildApp({ config, logger: false })
    let closed = false
    app.addHook('onClose', async () => { closed = true })
    t.teardown(async () => { if (!closed) await app.close() })
    await app.ready()
    return app
  }
  let client: { clientId: string, clientSecret: string } | undefined
  let firstRotation: { retired: string, current: string, next: string } | undefined

  t.test('migrate on an empty database applies the initial migration', async (t) => {
    const first = await command('migrate.ts', [], env)
    t.equal(first.code, 0, `exit 0 (${first.stderr})`)
    const expected = Object.keys(migrations).map((name) => `success: ${name}`)
    t.same(lines(first.stdout), expected, 'one success line per migration')
  })

  t.test('migrate again: the database is up to date', async (t) => {
    const again = await command('migrate.ts', [], env)
    t.equal(again.code, 0, `exit 0 (${again.stderr})`)
    t.same(lines(again.stdout), ['the database is up to date'])
  })

  t.test('clients:create prints one JSON line whose credentials work, and stores no secret', async (t) => {
    const result = await command('clients-create.ts', ['--name', 'x', '--scope', 'a b'], env)
    t.equal(result.code, 0, `exit 0 (${result.stderr})`)
    t.match(result.stdout, /^[^\n]+\n$/, 'exactly one line on stdout')
    const printed = JSON.parse(result.stdout) as Record<string, unknown>
    t.same(Object.keys(printed).sort(), ['client_id', 'client_secret'])
    const clientId = printed.client_id as string
    const clientSecret = printed.client_secret as string
    t.type(clientId, 'string')
    t.type(clientSecret, 'string')
    t.ok(clientSecret.length >= 43, 'at least 256 bits of secret')
    t.notMatch(result.stderr, clientSecret, 'the secret is not echoed to stderr')
    client = { clientId, clientSecret }

    const app = await appOnTarget(t)
    const rows = await app.db.selectFrom('oauth_clients').selectAll().execute()
    t.equal(rows.length, 1)
    const row = rows[0]!
    t.equal(row.client_id, clientId)
    t.equal(row.name, 'x')
    t.equal(row.scope, 'a b')
    t.equal(row.revoked_at, null)
    t.not(row.secret_hash, clientSecret, 'only a hash of the secret is stored')
    t.notOk(row.secret_hash.includes(clientSecret), 'the secret does not appear in the row')

    const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`
    const basic = `Basic ${Buffer.from(credentials).toString('base64')}`
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }
    })
    t.equal(response.statusCode, 200, response.body)
    t.equal(response.json().scope, 'a b', 'the registered scope')
    const jwksResponse = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    const jwks = createLocalJWKSet(jwksResponse.json() as JSONWebKeySet)
    const { payload } = await jwtVerify(response.json().access_token as string, jwks, {
      issuer: 'http://issuer.test',
      audience: 'http://api.test',
      typ: 'at+jwt'
    })
    t.equal(payload.sub, clientId)

    const wrong = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: `${clientSecret}x`
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    t.equal(wrong.statusCode, 401, 'a wrong secret is refused')
    await app.close()
  })

  /** Refused: exit 1, one line naming the key and when to try again, and the key ring unchanged. */
  const rotationRefused = async (t: Test): Promise<void> => {
    let app = await appOnTarget(t)
    const before = await app.db.selectFrom('signing_keys').select(['kid', 'state']).orderBy('kid').execute()
    await app.close()
    const result = await command('keys-rotate.ts', [], env)
    t.equal(result.code, 1, `exit code 1 (${result.stdout})`)
    t.equal(result.stdout, '', 'nothing on stdout')
    t.equal(lines(result.stderr).length, 1, `one line on stderr: ${result.stderr}`)
    const next = before.find((row) => row.state === 'next')!.kid
    t.match(result.stderr, new RegExp(
      `^keys:rotate: the next signing key ${next} has been published for \\d+ s.*try again after \\S+Z`
    ))
    t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
    app = await appOnTarget(t)
    const after = await app.db.selectFrom('signing_keys').select(['kid', 'state']).orderBy('kid').execute()
    t.same(after, before, 'nothing changed')
    // Time passes: the next key has now been in the JWKS for an hour.
    await setKeyPublication(app.db, anHourAgo())
    await app.close()
  }

  t.test('keys:rotate right after the next key was published refuses with one line and exit code 1', rotationRefused)

  t.test('keys:rotate prints {retired, current, next}; the JWKS then holds all three', async (t) => {
    const result = await command('keys-rotate.ts', [], env)
    t.equal(result.code, 0, `exit 0 (${result.stderr})`)
    t.match(result.stdout, /^[^\n]+\n$/, 'exactly one line on stdout')
    const printed = JSON.parse(result.stdout) as { retired: string, current: string, next: string }
    t.same(Object.keys(printed).sort(), ['current', 'next', 'retired'])
    t.type(printed.retired, 'string', 'the key the app created was retired')
    t.type(printed.current, 'string')
    t.type(printed.next, 'string')
    t.equal(new Set([printed.retired, printed.current, printed.next]).size, 3, 'three different kids')
    t.notMatch(result.stdout, /"d"/, 'no private key material printed')
    if (!explicitSecret) {
      const secret = (await readFile(join(target.env.DATA_DIR!, DEV_SECRET_FILE), 'utf8')).trim()
      t.ok(secret.length >= 32, 'the development secret is kept in DATA_DIR')
    }
    firstRotation = printed

    const app = await appOnTarget(t)
    const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    t.equal(response.statusCode, 200)
    const keys = response.json().keys as Array<{ kid: string, d?: string }>
    t.equal(keys.length, 3, 'retired, current and next')
    t.same(keys.map((key) => key.kid).sort(), [printed.retired, printed.current, printed.next].sort())
    t.notOk(keys.some((key) => key.d !== undefined), 'public keys only')
    t.equal(await kidOfClientToken(app, client), printed.current, 'new tokens are signed by the promoted key')
    await app.close()
  })

  t.test('keys:rotate again at once refuses: the new next key was published a moment ago', rotationRefused)

  t.test('keys:rotate again promotes the published next key; both retired keys stay published', async (t) => {
    if (firstRotation === undefined) return t.fail('the first rotation did not run')
    const result = await command('keys-rotate.ts', [], env)
    t.equal(result.code, 0, `exit 0 (${result.stderr})`)
    const rotated = JSON.parse(result.stdout) as { retired: string, current: string, next: string }
    t.equal(rotated.retired, firstRotation.current)
    t.equal(rotated.current, firstRotation.next, 'the already-published next key is promoted')
    const app = await appOnTarget(t)
    const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
    const kids = (jwks.keys as Array<{ kid: string }>).map((key) => key.kid)
    t.same(kids.sort(), [firstRotation.retired, rotated.retired, rotated.current, rotated.next].sort())
    t.equal(await kidOfClientToken(app, client), rotated.current)
    await app.close()
  })
})

t.test('a configuration error ends a command with exit code 1 and one line, no stack trace', async (t) => {
  const target = await freshTarget(t)
  const env = { ...target.env, NODE_ENV: 'production', DATABASE_URL: '', ISSUER: '', KEY_ENCRYPTION_SECRET: '' }
  const commands = [['clients-create.ts', ['--name', 'x']], ['keys-rotate.ts', []], ['migrate.ts', []]] as const
  for (const [script, args] of commands) {
    t.test(script, async (t) => {
      const result = await command(script, [...args], env)
      t.equal(result.code, 1, 'exit code 1')
      t.equal(result.stdout, '', 'nothing on stdout')
      t.equal(lines(result.stderr).length, 1, `one line on stderr: ${result.stderr}`)
      t.match(result.stderr, /DATABASE_URL/, 'names what is missing')
      t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
    })
  }
})

/** The kid of a client_credentials token the app issues now. */
async function kidOfClientToken (
  app: FastifyInstance,
  client: { clientId: string, clientSecret: string } | undefined
): Promise<string | undefined> {
  if (client === undefined) throw new Error('no client: clients:create did not run')
  const response = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }
  })
  if (response.statusCode !== 200) throw new Error(`client_credentials failed: ${response.statusCode} ${response.body}`)
  return decodeProtectedHeader(response.json().access_token as string).kid
}
