import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { assertProblem, buildTestApp, openTestDatabase, uniqueEmail } from '../helper.js'
import { throttleSource } from '../../src/domain/credentials/login-throttle.js'
import { bearer, loginForTokens, registerUser } from '../support/auth-steps.js'

const ATTACKER = '198.51.100.7'
const OWNER = '203.0.113.9'
const FREE_ATTEMPTS = 10 // LOGIN_FAILURES_BEFORE_BACKOFF's default

async function loginFrom (
  app: FastifyInstance, ip: string, email: string, password: string
): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { email, password, delivery: 'body' }
  })
}

function statuses (responses: LightMyRequestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {}
  for (const response of responses) counts[response.statusCode] = (counts[response.statusCode] ?? 0) + 1
  return counts
}

t.test('the per-account throttle', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })

  t.test('a burst of 30 parallel wrong passwords is cut at the limit, not given 30 verdicts', async (t) => {
    const victim = await registerUser(app)
    const burst = await Promise.all(Array.from({ length: 30 }, async (_, i) =>
      await loginFrom(app, ATTACKER, victim.email, `wrong password ${i}`)))
    const counts = statuses(burst)
    t.equal(counts[401], FREE_ATTEMPTS, `exactly ${FREE_ATTEMPTS} attempts reach the password check`)
    t.equal(counts[429], 30 - FREE_ATTEMPTS, 'every other attempt is refused before hashing')
    for (const refused of burst.filter((response) => response.statusCode === 429)) {
      assertProblem(t, refused, 429, 'rate_limited')
      t.match(refused.headers['retry-after'], /^[1-9]\d*$/)
    }
    // However slow this machine is, the back-off doubles with each admitted attempt: a second burst gets
    // at most a verdict or two, the right password included.
    const second = await Promise.all(Array.from({ length: 10 }, async (_, i) =>
      await loginFrom(app, ATTACKER, victim.email, i === 0 ? victim.password : `again ${i}`)))
    t.ok((statuses(second)[429] ?? 0) >= 8, 'the attacker stays throttled')
  })

  t.test("an attacker's failures never keep the owner, from another address, out", async (t) => {
    const victim = await registerUser(app)
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 30 }, async (_, i) =>
        await loginFrom(app, ATTACKER, victim.email, `guess ${round}-${i}`)))
    }
    t.equal((await loginFrom(app, OWNER, victim.email, victim.password)).statusCode, 200, 'the owner logs in at once')
    assertProblem(t, await loginFrom(app, ATTACKER, victim.email, victim.password), 429, 'rate_limited')
    t.equal((await loginFrom(app, OWNER, victim.email, 'a wrong password')).statusCode, 401,
      "the owner's own address keeps its full allowance")
  })

  t.test('a burst of correct passwords from one address all log in (they wait, they are not refused)', async (t) => {
    const user = await registerUser(app)
    const burst = await Promise.all(Array.from({ length: 25 }, async () =>
      await loginFrom(app, OWNER, user.email, user.password)))
    t.same(statuses(burst), { 200: 25 })
  })

  t.test('a correct password clears only its own address', async (t) => {
    const user = await registerUser(app)
    for (let i = 0; i < FREE_ATTEMPTS - 1; i++) await loginFrom(app, OWNER, user.email, `typo ${i}`)
    t.equal((await loginFrom(app, OWNER, user.email, user.password)).statusCode, 200)
    for (let i = 0; i < FREE_ATTEMPTS - 1; i++) {
      t.equal((await loginFrom(app, OWNER, user.email, `typo again ${i}`)).statusCode, 401, 'the count restarted')
    }
  })

  t.test('an IPv6 client is counted by its /64', async (t) => {
    const victim = await registerUser(app)
    const burst = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
      await loginFrom(app, `2001:db8:1:2::${(i + 1).toString(16)}`, victim.email, `wrong ${i}`)))
    t.equal(statuses(burst)[401], FREE_ATTEMPTS, 'addresses of one /64 share one count')
    t.equal((await loginFrom(app, '2001:db8:1:3::1', victim.email, victim.password)).statusCode, 200,
      'another /64 is another source')
  })

  t.test('wrong current passwords on POST /auth/password count against the same account', async (t) => {
    const user = await registerUser(app)
    const session = await loginForTokens(app, user)
    const change = async (currentPassword: string): Promise<LightMyRequestResponse> => await app.inject({
      method: 'POST',
      url: '/auth/password',
      remoteAddress: ATTACKER,
      headers: bearer(session.accessToken),
      payload: { currentPassword, newPassword: 'a brand new passphrase 99' }
    })
    const guesses = await Promise.all(Array.from({ length: 20 }, async (_, i) => await change(`guess ${i}`)))
    t.equal(statuses(guesses)[401], FREE_ATTEMPTS, 'the oracle is throttled like the login form')
    t.equal(statuses(guesses)[429], 20 - FREE_ATTEMPTS)
    assertProblem(t, await change(user.password), 429, 'rate_limited')
    assertProblem(t, await loginFrom(app, ATTACKER, user.email, user.password), 429, 'rate_limited')
    t.equal((await loginFrom(app, OWNER, user.email, user.password)).statusCode, 200, 'the owner is not locked out')
  })

  t.test('unknown emails are throttled like real ones', async (t) => {
    const ghost = uniqueEmail('ghost')
    const burst = await Promise.all(Array.from({ length: 15 }, async () =>
      await loginFrom(app, ATTACKER, ghost, 'whatever password')))
    t.same(statuses(burst), { 401: FREE_ATTEMPTS, 429: 15 - FREE_ATTEMPTS }, 'the same cut as for a real account')
  })
})

t.test('throttle sources', async (t) => {
  t.equal(throttleSource('192.0.2.1'), '192.0.2.1')
  t.equal(throttleSource('::ffff:192.0.2.1'), '192.0.2.1', 'an IPv4-mapped address is its IPv4 address')
  t.equal(throttleSource('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(throttleSource('2001:DB8:0:0:ffff::1'), '2001:db8:0:0::/64', 'case and the interface part do not matter')
  t.equal(throttleSource('::1'), '0:0:0:0::/64')
  t.equal(throttleSource(null), 'unknown')
})
