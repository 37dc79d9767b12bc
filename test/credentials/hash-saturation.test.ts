import t from 'tap'
import { buildTestApp, postJson } from '../helper.js'
import { login, registerUser } from '../support/auth-steps.js'

const FLOOD = 'a login flood beyond the hashing queue gets 503 with Retry-After, while refresh and JWKS keep answering'
t.test(FLOOD, async (t) => {
  const app = await buildTestApp(t, { PASSWORD_HASH_CONCURRENCY: 1, PASSWORD_HASH_QUEUE: 2 })
  const user = await registerUser(app)
  const session = (await login(app, user, 'body')).json()

  const flood = Array.from({ length: 24 }, async () => await login(app, user, 'body'))
  // While the flood is in progress, the endpoints that need no argon2 still answer.
  const [jwks, refreshed] = await Promise.all([
    app.inject('/.well-known/jwks.json'),
    postJson(app, '/auth/refresh', { refreshToken: session.refreshToken })
  ])
  const replies = await Promise.all(flood)

  t.equal(jwks.statusCode, 200, 'JWKS answers during the flood')
  t.equal(refreshed.statusCode, 200, 'refresh answers during the flood')
  const statuses = replies.map((reply) => reply.statusCode)
  t.notOk(statuses.some((status) => status >= 500 && status !== 503), 'no 500')
  t.ok(statuses.includes(200), 'the logins within the bound succeed')
  const refused = replies.filter((reply) => reply.statusCode === 503)
  t.ok(refused.length > 0, 'logins beyond the bound are refused at once')
  t.equal(refused[0]?.json().code, 'service_unavailable')
  t.ok(Number(refused[0]?.headers['retry-after']) >= 1, 'with Retry-After')
})
