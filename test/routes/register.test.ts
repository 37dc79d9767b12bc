import t from 'tap'
import argon2 from 'argon2'
import type { LightMyRequestResponse } from 'fastify'
import { assertProblem, buildTestApp, openTestDatabase, postJson, STRONG_PASSWORD, uniqueEmail } from '../helper.js'

t.test('POST /auth/register', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })
  const countUsers = async (): Promise<number> =>
    (await database.db.selectFrom('users').select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()).n as unknown as number

  t.test('creates an account and answers 201 with exactly {id, email, createdAt}', async (t) => {
    const email = uniqueEmail('New')
    const response = await postJson(app, '/auth/register', {
      email: `  ${email.toUpperCase()}  `, password: STRONG_PASSWORD
    })
    t.equal(response.statusCode, 201)
    const { user } = response.json()
    t.same(Object.keys(user).sort(), ['createdAt', 'email', 'id'], 'no hash or internal column leaks')
    t.equal(user.email, email.toLowerCase(), 'email trimmed and lowercased')
    t.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUIDv7')
    t.ok(Math.abs(Date.parse(user.createdAt) - Date.now()) < 60_000, 'createdAt is now')
    t.notMatch(response.body, /argon2/, 'the hash never leaves')
  })

  t.test('stores an argon2id hash with the OWASP parameters, never the password', async (t) => {
    const email = uniqueEmail()
    await postJson(app, '/auth/register', { email, password: STRONG_PASSWORD })
    const row = await database.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirstOrThrow()
    t.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
    t.notMatch(row.password_hash, STRONG_PASSWORD)
    t.ok(await argon2.verify(row.password_hash, STRONG_PASSWORD))
  })

  t.test('normalises passwords with NFKC before hashing', async (t) => {
    const email = uniqueEmail()
    // U+FB03 (ﬃ ligature) is NFKC-equivalent to "ffi".
    await postJson(app, '/auth/register', { email, password: 'o\uFB03ce-chair-lamp-9' })
    const row = await database.db.selectFrom('users').select('password_hash').where('email', '=', email)
      .executeTakeFirstOrThrow()
    t.ok(await argon2.verify(row.password_hash, 'office-chair-lamp-9'))
  })

  t.test('accepts 64+ character and non-Latin passwords', async (t) => {
    const longPassword = await postJson(app, '/auth/register', { email: uniqueEmail(), password: 'x'.repeat(1024) })
    t.equal(longPassword.statusCode, 201)
    const nonLatin = await postJson(app, '/auth/register', { email: uniqueEmail(), password: 'пароль-日本語-🔑-ok' })
    t.equal(nonLatin.statusCode, 201)
  })

  t.test('refuses a taken email, whatever its case, with 409 email_taken', async (t) => {
    const email = uniqueEmail()
    await postJson(app, '/auth/register', { email, password: STRONG_PASSWORD })
    const before = await countUsers()
    const again = await postJson(app, '/auth/register', {
      email: email.toUpperCase(), password: 'another long password'
    })
    assertProblem(t, again, 409, 'email_taken')
    t.equal(await countUsers(), before, 'nothing written')
  })

  t.test('two simultaneous registrations of one email: one 201, one 409', async (t) => {
    const email = uniqueEmail()
    const replies = await Promise.all([1, 2].map(async () =>
      await postJson(app, '/auth/register', { email, password: STRONG_PASSWORD })))
    t.same(replies.map((r) => r.statusCode).sort(), [201, 409])
  })

  const register = async (body: unknown): Promise<LightMyRequestResponse> => await postJson(app, '/auth/register', body)
  const registerRaw = async (payload: string, contentType: string): Promise<LightMyRequestResponse> =>
    await app.inject({ method: 'POST', url: '/auth/register', payload, headers: { 'content-type': contentType } })
  const badRequests: Array<[string, () => Promise<LightMyRequestResponse>, number, string]> = [
    ['an email without @',
      async () => await register({ email: 'not-an-email', password: STRONG_PASSWORD }), 400, 'validation_failed'],
    ['an email over 254 characters',
      async () => await register({ email: `${'a'.repeat(250)}@example.com`, password: STRONG_PASSWORD }),
      400, 'validation_failed'],
    ['a 7-character password',
      async () => await register({ email: uniqueEmail(), password: 'Abc123!' }), 400, 'validation_failed'],
    ['a 1025-character password',
      async () => await register({ email: uniqueEmail(), password: 'x'.repeat(1025) }), 400, 'validation_failed'],
    ['a common password',
      async () => await register({ email: uniqueEmail(), password: 'Password123' }), 400, 'weak_password'],
    ['the email as password', async () => {
      const email = uniqueEmail()
      return await register({ email, password: email })
    }, 400, 'weak_password'],
    ['an unknown property',
      async () => await register({ email: uniqueEmail(), password: STRONG_PASSWORD, role: 'admin' }),
      400, 'validation_failed'],
    ['a missing password', async () => await register({ email: uniqueEmail() }), 400, 'validation_failed'],
    ['a number as password',
      async () => await register({ email: uniqueEmail(), password: 123456789 }), 400, 'validation_failed'],
    ['a JSON array body', async () => await register([uniqueEmail(), STRONG_PASSWORD]), 400, 'validation_failed'],
    ['malformed JSON',
      async () => await registerRaw('{"email": "a@b.co", ', 'application/json'), 400, 'validation_failed'],
    ['an empty JSON body', async () => await registerRaw('', 'application/json'), 400, 'validation_failed'],
    ['a form body',
      async () => await registerRaw(`email=${uniqueEmail()}&password=x`, 'application/x-www-form-urlencoded'),
      415, 'unsupported_media_type'],
    ['a text/plain body', async () => await registerRaw('{}', 'text/plain'), 415, 'unsupported_media_type'],
    ['a 17 KiB body',
      async () => await register({ email: uniqueEmail(), password: 'x'.repeat(17 * 1024) }), 413, 'payload_too_large'],
    ['__proto__ in the body', async () => await registerRaw(
      `{"email":"${uniqueEmail()}","password":"${STRONG_PASSWORD}","__proto__":{"admin":true}}`, 'application/json'
    ), 400, 'validation_failed']
  ]
  for (const [name, send, status, code] of badRequests) {
    t.test(`answers ${name} with ${status} ${code} and writes nothing`, async (t) => {
      const before = await countUsers()
      assertProblem(t, await send(), status, code)
      t.equal(await countUsers(), before, 'no user created')
    })
  }
})
